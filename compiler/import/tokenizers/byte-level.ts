// GPT-2's byte-level alphabet: every byte is shown as one printable character, so BPE
// runs on text with no raw control bytes or spaces. Printable Latin-1 bytes ('!'..'~',
// '¡'..'¬', '®'..'ÿ') stand for themselves; the other 68 bytes take U+0100.. in byte order.
import { utf8Bytes } from './bytes.ts';

const byteToChar: string[] = [];
const charToByte = new Map<string, number>();
{
  let extra = 0;
  for (let b = 0; b < 256; b++) {
    const printable = (b >= 0x21 && b <= 0x7e) || (b >= 0xa1 && b <= 0xac) || (b >= 0xae && b <= 0xff);
    const ch = String.fromCodePoint(printable ? b : 256 + extra++);
    byteToChar[b] = ch;
    charToByte.set(ch, b);
  }
}

/** UTF-8 bytes of `text` in the byte-level alphabet. */
export function byteLevelEncode(bytes: Uint8Array): string {
  let s = '';
  for (const b of bytes) s += byteToChar[b];
  return s;
}

/** The bytes a byte-level token stands for; a character outside the alphabet keeps its UTF-8. */
export function byteLevelDecode(text: string): Uint8Array {
  const out: number[] = [];
  for (const ch of text) {
    const b = charToByte.get(ch);
    if (b !== undefined) out.push(b);
    else out.push(...utf8Bytes(ch));
  }
  return Uint8Array.from(out);
}
