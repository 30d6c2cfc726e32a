// A small PNG decoder for checking Chromium's screenshots (scripts/check-report.ts,
// test/web.test.ts): 8-bit RGB or RGBA, not interlaced — what Chromium writes.
import { inflateSync } from 'node:zlib';

/** Decodes an 8-bit RGB/RGBA non-interlaced PNG (what Chromium writes). */
export function decodePng(buf: Buffer): { w: number; h: number; px: (x: number, y: number) => [number, number, number] } {
  if (buf.readUInt32BE(0) !== 0x89504e47) throw new Error('not a PNG');
  let off = 8, w = 0, h = 0, ct = 0;
  const idat: Buffer[] = [];
  while (off < buf.length) {
    const len = buf.readUInt32BE(off), type = buf.toString('latin1', off + 4, off + 8), data = buf.subarray(off + 8, off + 8 + len);
    if (type === 'IHDR') { w = data.readUInt32BE(0); h = data.readUInt32BE(4); if (data[8] !== 8 || data[12] !== 0) throw new Error('unsupported PNG'); ct = data[9]; }
    if (type === 'IDAT') idat.push(data);
    off += 12 + len;
  }
  const bpp = ct === 6 ? 4 : ct === 2 ? 3 : 0;
  if (!bpp) throw new Error(`unsupported PNG colour type ${ct}`);
  const raw = inflateSync(Buffer.concat(idat)), stride = w * bpp, img = Buffer.alloc(h * stride);
  for (let y = 0; y < h; y++) {
    const f = raw[y * (stride + 1)], src = raw.subarray(y * (stride + 1) + 1, (y + 1) * (stride + 1)), cur = img.subarray(y * stride, (y + 1) * stride);
    for (let i = 0; i < stride; i++) {
      const a = i >= bpp ? cur[i - bpp] : 0, b = y > 0 ? img[(y - 1) * stride + i] : 0, c = y > 0 && i >= bpp ? img[(y - 1) * stride + i - bpp] : 0;
      let v = src[i];
      if (f === 1) v += a; else if (f === 2) v += b; else if (f === 3) v += (a + b) >> 1;
      else if (f === 4) { const p = a + b - c, pa = Math.abs(p - a), pb = Math.abs(p - b), pc = Math.abs(p - c); v += pa <= pb && pa <= pc ? a : pb <= pc ? b : c; }
      cur[i] = v & 255;
    }
  }
  return { w, h, px: (x, y) => [img[y * stride + x * bpp], img[y * stride + x * bpp + 1], img[y * stride + x * bpp + 2]] };
}

/**
 * Whether a screenshot shows something: at least `minColours` distinct colours, and at
 * least `minShare` of its pixels differ from the top-left (background) pixel.
 */
export function notBlank(png: Buffer, minColours = 16, minShare = 0.02): { ok: boolean; colours: number; share: number; w: number; h: number } {
  const img = decodePng(png);
  const bg = img.px(0, 0).join();
  const colours = new Set<string>();
  let differ = 0;
  for (let y = 0; y < img.h; y += 2) for (let x = 0; x < img.w; x += 2) {
    const c = img.px(x, y).join();
    colours.add(c);
    if (c !== bg) differ++;
  }
  const share = differ / (Math.ceil(img.h / 2) * Math.ceil(img.w / 2));
  return { ok: colours.size >= minColours && share >= minShare, colours: colours.size, share, w: img.w, h: img.h };
}
