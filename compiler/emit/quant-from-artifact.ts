// The inverse of compiler/emit/from-quant.ts for what fine-tuning needs: an artifact's
// contents back into the QuantModel the integer reference runs (runtime/reference), so
// `edgeq finetune --engine reference` and the adapter-aware reference engine work from a
// bundle alone, without the checkpoint. The model scalars that are not in ModelConfig
// (norm epsilon, scales) are read back, by name (compiler/ops), from the params of the
// program's first rmsnorm and attention ops (docs/integer-spec.md §10), the tensors are views of the artifact's bytes.
import type { ArtifactContents } from './artifact-contents.ts';
import type { DTypeName } from './dtype.ts';
import { FORMAT_VERSION, type QDType, type QTensor, type QuantModel } from '../quantize/quant-model.ts';
import { LOGIT_FRAC } from '../../runtime/kernels/reference/constants.ts';
import { EdgeqError } from '../util/errors.ts';
import { bitsOfDtype, isGroupedFormat } from '../quantize/formats/registry.ts';
import { paramsOf } from '../ops/registry.ts';

/** The artifact dtypes the integer model holds (the same names; gse is the trainer's). */
const isQDType = (d: DTypeName): d is QDType => d !== 'gse';

function view(dtype: QDType, bytes: Uint8Array): QTensor['data'] {
  // Copy into a fresh aligned buffer: artifact tensor data is 16-byte aligned in the file,
  // but the Uint8Array we were handed may sit at any offset of its buffer.
  const b = bytes.slice();
  if (dtype === 'int8') return new Int8Array(b.buffer, 0, b.length);
  if (dtype === 'int16') return new Int16Array(b.buffer, 0, b.length >> 1);
  if (dtype === 'int32') return new Int32Array(b.buffer, 0, b.length >> 2);
  return b;
}

export function quantModelFromArtifact(a: ArtifactContents, file = '<artifact>'): QuantModel {
  const c = a.config;
  const norm = a.program.ops.find((o) => o.kind === 'rmsnorm');
  const att = a.program.ops.find((o) => o.kind === 'attention');
  if (!norm || !att) throw new EdgeqError(`${file}: the program has no rmsnorm/attention op with the params of docs/integer-spec.md §10`);
  let normP: Record<string, number>, attP: Record<string, number>;
  try {
    normP = paramsOf(norm); attP = paramsOf(att);
  } catch (e) {
    throw new EdgeqError(`${file}: ${(e as Error).message} (docs/integer-spec.md §10)`);
  }
  const tensors: QTensor[] = a.tensors.map((t) => {
    const dtype = t.dtype;
    if (!isQDType(dtype)) throw new EdgeqError(`${file}: tensor ${t.name} has dtype ${t.dtype}, which the integer reference does not read`);
    const params: Record<string, number> = {};
    if (t.quant?.groupSize !== undefined) { params.groupSize = t.quant.groupSize; params.bits = isGroupedFormat(dtype) ? bitsOfDtype(dtype)! : 0; }
    else if (t.quant?.params?.length) params.frac = t.quant.params[0];
    return { name: t.name, dtype, shape: t.shape.slice(), params, data: view(dtype, t.data) };
  });
  return {
    params: {
      formatVersion: FORMAT_VERSION, dim: c.dim, hiddenDim: c.hiddenDim, nLayers: c.nLayers, nHeads: c.nHeads,
      nKvHeads: c.nKvHeads, vocabSize: c.vocabSize, seqLen: c.seqLen, sharedClassifier: c.sharedClassifier ? 1 : 0,
      logitFrac: LOGIT_FRAC,
      rmsEpsQ32: normP.rmsEpsQ32, rmsSqShift: normP.rmsSqShift, rmsDimScaleM: normP.rmsDimScaleM, rmsDimScaleE: normP.rmsDimScaleE,
      attScaleM: attP.attScaleM, attScaleE: attP.attScaleE,
    },
    tensors,
    ...(c.ropeTheta !== undefined || c.rmsNormEps !== undefined || c.ropeFreqFactors ? {
      rope: {
        ...(c.ropeTheta !== undefined ? { ropeTheta: c.ropeTheta } : {}),
        ...(c.rmsNormEps !== undefined ? { normEps: c.rmsNormEps } : {}),
        ...(c.ropeFreqFactors ? { ropeFreqFactors: c.ropeFreqFactors } : {}),
      },
    } : {}),
  };
}
