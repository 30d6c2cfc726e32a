// The weight-format registry's lists as error messages spell them, for the tests that check
// an error names what is supported: derived, so that adding a format edits no test.
import { ALL_GROUP_SIZES, PLAN_BITS, WEIGHT_FORMAT_NAMES } from '../../compiler/quantize/formats/registry.ts';

export const BITS_LIST = PLAN_BITS.join(', ');
export const FORMATS_LIST = WEIGHT_FORMAT_NAMES.join(', ');
export const GROUP_SIZES_LIST = ALL_GROUP_SIZES.join(', ');
/** A bit count, a format name and a group size that no format has. */
export const NO_BITS = 9, NO_FORMAT = 'q9', NO_GROUP = 48;
if ((PLAN_BITS as readonly number[]).includes(NO_BITS) || (WEIGHT_FORMAT_NAMES as readonly string[]).includes(NO_FORMAT) || ALL_GROUP_SIZES.includes(NO_GROUP)) {
  throw new Error('test/helpers/formats.ts: NO_BITS, NO_FORMAT or NO_GROUP is now a real one; pick another');
}
/** A RegExp that matches `text` literally. */
export const literally = (text: string): RegExp => new RegExp(text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'));
