// Byte strings: a JS string with one char (0..255) per byte. The tokenizers key their maps
// with them so that text is compared as bytes, as llama.cpp compares std::string, and
// invalid UTF-8 in a prompt is handled byte by byte instead of being replaced.
// No Node Buffer: the JavaScript API runs these in a browser (scripts/build-api.ts).

const encoder = new TextEncoder();
// ignoreBOM: a leading U+FEFF is text like any other (TextDecoder would drop it).
const decoder = new TextDecoder('utf-8', { ignoreBOM: true });

/** The UTF-8 bytes of `s` (a lone surrogate becomes U+FFFD's bytes). */
export const utf8Bytes = (s: string): Uint8Array => encoder.encode(s);

export function utf8ByteString(s: string): string {
  return bytesToByteString(encoder.encode(s));
}

export function bytesToByteString(b: Uint8Array): string {
  let out = '';
  // In chunks: fromCharCode takes its bytes as arguments, and argument lists are bounded.
  for (let i = 0; i < b.length; i += 8192) out += String.fromCharCode.apply(null, b.subarray(i, i + 8192) as unknown as number[]);
  return out;
}

export function byteStringToBytes(s: string): Uint8Array {
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i);
  return out;
}

/** A byte string read as UTF-8 (invalid sequences become U+FFFD). */
export function byteStringToText(s: string): string {
  return decoder.decode(byteStringToBytes(s));
}

/** Length of the UTF-8 sequence a lead byte announces (llama.cpp's unicode_len_utf8: a stray continuation byte counts 1). */
export function utf8SequenceLength(lead: number): number {
  const hi = lead >> 4;
  return hi < 12 ? 1 : hi < 14 ? 2 : hi === 14 ? 3 : 4;
}

/** C isspace in the "C" locale. */
export const isCSpace = (c: number): boolean => c === 0x20 || (c >= 0x09 && c <= 0x0d);
