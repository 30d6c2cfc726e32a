// GPTQ for the LUT formats q1..q6 (issue 15): the same stored format as the clip-search
// quantizer (lowbit.ts), with the codes chosen so that the error of W x, not of W, is small.
// The group scales and zero points ("static groups") are the clip search's, fitted to the
// original weights; then, per row, columns are quantized in GPTQ's order (act-order:
// decreasing H[i][i]) against those fixed (gm·rowScale, z2), and each column's rounding
// error is spread over the not-yet-quantized columns by the inverse Hessian factor
// (gptq.ts inverseHessianFactor), H = Σ x xᵀ of the matrix's calibration inputs. Fixed
// group parameters make the act-order safe (a column's group is known before it is coded).
// Only the codes change: the format, the integer semantics and the kernels do not.
import { roundHalfAway } from './fixed-point.ts';
import { inverseHessianFactor, type GptqOptions } from './gptq.ts';
import { dequantizeLowbit, quantizeLowbit, type LowbitMatrix, type LowbitOptions } from './lowbit.ts';
import { packPlanes, qmaxOf, unpackGroups } from './lowbit-format.ts';

/** The `bits`-bit LUT matrix of w [rows, cols] by GPTQ with input Hessian h [cols, cols]. */
export function gptqLowbit(w: Float32Array, rows: number, cols: number, h: Float64Array, opts: LowbitOptions & GptqOptions): LowbitMatrix {
  const base = quantizeLowbit(w, rows, cols, opts);
  const { diag, perm, u } = inverseHessianFactor(h, cols, opts);
  if (!u) return base; // numerically hopeless: the clip search's codes
  const { bits, groupSize: gs } = opts;
  const ng = cols / gs, qmax = qmaxOf(bits);
  const { gm, z2 } = unpackGroups(base.groups, rows, cols, gs);
  const codes = new Uint8Array(rows * cols);
  const wr = new Float64Array(cols);
  for (let r = 0; r < rows; r++) {
    const rs = base.scaleM[r] * 2 ** -base.scaleE[r];
    for (let i = 0; i < cols; i++) wr[i] = diag[perm[i]] === 0 ? 0 : w[r * cols + perm[i]];
    for (let i = 0; i < cols; i++) {
      const j = perm[i], gi = r * ng + Math.floor(j / gs);
      const s = gm[gi] * rs, z = z2[gi];
      let q = s > 0 ? roundHalfAway(wr[i] / (2 * s) + z / 2) : 0;
      if (q < 0) q = 0; else if (q > qmax) q = qmax;
      codes[r * cols + j] = q;
      const err = (wr[i] - s * (2 * q - z)) / u[i * cols + i];
      for (let k = i + 1; k < cols; k++) wr[k] -= err * u[k * cols + i];
    }
  }
  const m: LowbitMatrix = { ...base, planes: packPlanes(codes, bits, rows, cols, gs), sqError: 0 };
  const dq = dequantizeLowbit(m);
  for (let k = 0; k < rows * cols; k++) m.sqError += (w[k] - dq[k]) ** 2;
  return m;
}
