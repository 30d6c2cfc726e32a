// Constants of the artifact format, derived from schemas/edgeq.fbs where the schema can
// say them.
import { FormatVersion } from '../../schemas/generated/edgeq/fb/format-version.ts';

export const ARTIFACT_IDENTIFIER = 'EDGQ';
export const ADAPTER_IDENTIFIER = 'EDQA';
/** The version this compiler writes and reads: the highest FormatVersion in the schema. */
export const FORMAT_VERSION: number = Math.max(
  ...Object.values(FormatVersion).filter((v): v is number => typeof v === 'number'),
);
/** Every tensor's data starts at a multiple of this from the start of the buffer. */
export const DATA_ALIGN = 16;
/** Model.format_version is field 0 of the root table, forever: vtable entry 4 + 2 * 0. */
export const VERSION_VTABLE_SLOT = 4;
