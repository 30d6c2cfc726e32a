// Byte strings: a JS string with one char (0..255) per byte. The tokenizers key their maps
// with them so that text is compared as bytes, as llama.cpp compares std::string, and
// invalid UTF-8 in a prompt is handled byte by byte instead of being replaced.

const encoder = new TextEncoder();

export function utf8ByteString(s: string): string {
  return Buffer.from(encoder.encode(s)).toString('latin1');
}

export function bytesToByteString(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('latin1');
}

export function byteStringToBytes(s: string): Uint8Array {
  return new Uint8Array(Buffer.from(s, 'latin1'));
}

/** A byte string read as UTF-8 (invalid sequences become U+FFFD). */
export function byteStringToText(s: string): string {
  return Buffer.from(s, 'latin1').toString('utf8');
}

/** Length of the UTF-8 sequence a lead byte announces (llama.cpp's unicode_len_utf8: a stray continuation byte counts 1). */
export function utf8SequenceLength(lead: number): number {
  const hi = lead >> 4;
  return hi < 12 ? 1 : hi < 14 ? 2 : hi === 14 ? 3 : 4;
}

/** C isspace in the "C" locale. */
export const isCSpace = (c: number): boolean => c === 0x20 || (c >= 0x09 && c <= 0x0d);
