// Words for the device verifier's error codes. The codes themselves are defined once, in
// schemas/edgeq.fbs (enum VerifyError), and generated for both sides: schemas/generated
// for the host, runtime/assembly/generated/schema.ts for the device. The Record type makes
// the type checker refuse a code without a message here.
import { VerifyError } from '../../schemas/generated/edgeq/fb/verify-error.ts';

export { VerifyError };

export const VERIFY_ERROR_MESSAGES: Record<keyof typeof VerifyError, string> = {
  ok: 'valid',
  too_small: 'shorter than the 8-byte header',
  bad_identifier: 'not an edgeq model (file identifier is not "EDGQ")',
  base_misaligned: 'the artifact is not at a 16-byte aligned address in device memory',
  bad_version: 'format version missing or not supported by this runtime',
  out_of_bounds: 'an offset or length reaches outside the artifact (truncated or corrupt file)',
  misaligned: 'a table, vector or scalar is misaligned (corrupt file)',
  bad_vtable: 'a malformed vtable (corrupt file)',
  missing_field: 'a required field is missing',
  bad_string: 'a string is not NUL-terminated (corrupt file)',
  too_many: "a count exceeds the verifier's limits",
  bad_enum: 'an unknown dtype, op kind, operand kind or hash kind (newer compiler?)',
  bad_shape: 'a shape with no dims, more than 8, a zero dim or too many elements',
  size_mismatch: 'tensor data or slot size differs from what dtype and shape give',
  data_misaligned: 'tensor data, a slot offset or the arena size is not a multiple of 16',
  bad_ref: 'an op operand names a tensor, slot or input that does not exist, or writes a non-slot',
  arena_out_of_bounds: 'a slot reaches past the end of the arena',
  bad_config: 'inconsistent model config',
  bad_quant: 'quantization parameters of the wrong length or a bad scales tensor',
  bad_tokenizer: 'tokenizer vectors of the wrong length or bad special ids',
  bad_conformance: 'an inconsistent conformance case',
  bad_length: 'a fixed-size field has the wrong length',
};

/** "bad_version: format version missing or ..." for a code from verify(). */
export function verifyErrorMessage(code: number): string {
  const name = VerifyError[code] as keyof typeof VerifyError | undefined;
  return name === undefined ? `unknown verifier error ${code}` : `${name}: ${VERIFY_ERROR_MESSAGES[name]}`;
}
