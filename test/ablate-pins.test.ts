// Pins of the ablation simulator's exact outputs (compiler/eval/ablate.ts), for issue 13's
// "one float model": the simulator's own float64 forward was replaced by
// compiler/reference/float/model.ts with hooks. Like float-model-pins.test.ts these say
// nothing about correctness (eval.test.ts and int-model.test.ts do), only that the
// refactor moved no result.
// OLD holds numbers computed by the simulator's own forward before the change (commit
// 94e0402): per configuration, the sum and the sum of squares of every logit over
// POSITIONS positions, and the sha256 of those logits, of the calibration taps and of
// calibrate()'s Hessians.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createHash } from 'node:crypto';
import { openModel } from '../compiler/import/open-model.ts';
import { loadWeights, type FloatWeights } from '../compiler/import/graph.ts';
import { llama2cSpec } from '../compiler/import/model-spec.ts';
import { AblationTransformer, SITES, type AblationOptions } from '../compiler/eval/ablate.ts';
import { calibrate } from '../compiler/quantize/calibrate.ts';
import { quantizeRows } from '../compiler/quantize/weights.ts';
import { model } from './helpers/models.ts';

const POSITIONS = 24;
const load = (m: string) => loadWeights(openModel(model(`${m}.bin`)));
/** A fixed token stream that visits the whole vocabulary (no tokenizer involved). */
const tokenAt = (p: number, vocab: number) => (1 + 37 * p) % vocab;
const hasher = () => {
  const h = createHash('sha256');
  return { add: (c: ArrayBufferView) => h.update(new Uint8Array(c.buffer, c.byteOffset, c.byteLength)), hex: () => h.digest('hex') };
};
/** stories260K with a non-llama2.c spec: θ, ε and llama3-style frequency factors. */
function withSpec(w: FloatWeights): FloatWeights {
  const hs = w.config.dim / w.config.nHeads;
  const ropeFreqFactors = Float32Array.from({ length: hs / 2 }, (_, i) => 1 + 2.5 * i);
  return { ...w, spec: { ...llama2cSpec(w.config), ropeTheta: 500000, normEps: Math.fround(1e-6), ropeFreqFactors } };
}

/** The configurations: no step, all steps, each step alone, and every option of AblationOptions. */
function configs(w: FloatWeights): [string, AblationOptions][] {
  const { dim } = w.config;
  const negated = (name: string) => (name === 'blocks.0.wo' ? quantizeRows(w.blocks[0].wo.map((x) => -x), dim, dim) : undefined);
  return [
    ['none', { sites: new Set() }],
    ['all', { sites: new Set(SITES) }],
    ...SITES.map((s): [string, AblationOptions] => [`only ${s}`, { sites: new Set([s]) }]),
    ['wq,w2 clipped', { sites: new Set(['weights']), matrices: new Set(['wq', 'w2']), clip: true }],
    ['quantizedRows', { sites: new Set(['weights']), quantizedRows: negated }],
    ['int8 acts', { sites: new Set(SITES), qmax: { act_attn: 127, act_wo: 127, act_ffn: 127, act_w2: 127, act_cls: 127, q: 32767, k: 127 } }],
  ];
}

interface Result { sum: number; sumSq: number; sha: string }
function run(w: FloatWeights, opts: AblationOptions): Result {
  const t = new AblationTransformer(w, opts), h = hasher();
  let sum = 0, sumSq = 0;
  for (let p = 0; p < POSITIONS; p++) {
    const l = Float64Array.from(t.forward(tokenAt(p, w.config.vocabSize), p));
    h.add(l);
    for (const v of l) { sum += v; sumSq += v * v; }
  }
  return { sum, sumSq, sha: h.hex() };
}

function tapHash(w: FloatWeights): string {
  const h = hasher();
  const t = new AblationTransformer(w, { sites: new Set(['act_attn', 'k']), tap: (l, point, x) => { h.add(Int32Array.of(l, point.length)); h.add(Float64Array.from(x)); } });
  for (let p = 0; p < POSITIONS; p++) t.forward(tokenAt(p, w.config.vocabSize), p);
  return h.hex();
}

function hessianHash(w: FloatWeights): string {
  const hs = calibrate(w, { sequences: 2, length: 16 }), h = hasher();
  for (const k of [...hs.keys()].sort()) h.add(hs.get(k)!);
  return h.hex();
}

const OLD: Record<string, Record<string, Result | string>> = {
  "stories260K": {
    "none": { sum: -68141.51541503366, sumSq: 1309537.544286705, sha: "7620b66caad34c6ed72ddd29dbe12faab188bd7d914e027f23da03f6366ee4b5" },
    "all": { sum: -67849.99353768908, sumSq: 1303578.046186219, sha: "45745de636c1a0a6bbec142ed4cc55ee3544c7bac2e3bc1fafb610c09ba5a98a" },
    "only weights": { sum: -67939.91469942831, sumSq: 1306062.0355852917, sha: "09210c1b96caf17f425c19e52a48431a647adba23c86068a6fcf0a5433043d37" },
    "only embedding": { sum: -68090.80368599496, sumSq: 1308190.1382401413, sha: "35f6a03869ae7e0643bc9ad2972352100baea49b8a159cbaeb63d087a383d7d6" },
    "only act_attn": { sum: -68143.93399379204, sumSq: 1309551.6965571085, sha: "4ed8ee2b862c9696770239e0feb59fbec82d92cfc7212d1c1a7e7aa754d2097f" },
    "only act_wo": { sum: -68143.15377913011, sumSq: 1309563.5959701077, sha: "eba93031a4f611caec3677365dba573f78e4d6b1f88e34dd47cf815a0022c2b3" },
    "only act_ffn": { sum: -68142.28188649968, sumSq: 1309531.5462999386, sha: "8aec828d0502f7cf9b8b5b6d245e0b100bd2eadd5f98f90461029b7d8d165781" },
    "only act_w2": { sum: -68128.26345430504, sumSq: 1309262.9286895508, sha: "8fc749458af05711d55d4487216a926333ddddbe5adf3bcd326fd325e9d68a18" },
    "only act_cls": { sum: -68142.15080051101, sumSq: 1309592.8356604795, sha: "e1a188a2ba23f22d5b175f8639caea0631efed12a5e7ce4c498b4b5db6802c1a" },
    "only q": { sum: -68145.12102968236, sumSq: 1309631.2773763004, sha: "f4acdb9e23807970f8375e952878d998cc124f6a78c9f10cdcc0facfe5bed1d4" },
    "only k": { sum: -68133.17923117493, sumSq: 1309195.5218676785, sha: "1a72d6beb0a5b791035497631528678c112cb98c6cb980d1009f29af94ef7bad" },
    "only v": { sum: -68082.0126927078, sumSq: 1308236.1197013936, sha: "4ad38fe2006cd70574c2b6265e9b4cb48026fe1a428f4c983db933fcd883551c" },
    "wq,w2 clipped": { sum: -67995.68743070783, sumSq: 1306450.7583901612, sha: "57c24a16c1a8ca4013d8f7b243413826b8b56ba5ba7186493c3cb4efea4c4bd8" },
    "quantizedRows": { sum: -60838.62684224038, sumSq: 1096443.2680262409, sha: "79b40767191626e2e742552a8ad8525a3401bdd3b98c37f317d8f63a9bc853ed" },
    "int8 acts": { sum: -67606.60711472777, sumSq: 1297896.3925391864, sha: "0a94fb0e32abd02c6436784b15ca44435a3dedf6606eede057c73aaa7cbedf3f" },
    "taps": "9e6e0e0890c3dd63d6b08a03d828829cbb3c1364cfdacd852319102232996392",
    "hessians": "0267083de8d649a35fa1dfdc44af9337e753883d33790d722347beb04e6f8b65",
  },
  "babyllama936K": {
    "none": { sum: -1716.5661939480774, sumSq: 160946.3035931708, sha: "0551147f861a33760bd883251742d10f252c4784f0cc4f29a0e3d3e4d557fa3c" },
    "all": { sum: -1699.8968648888954, sumSq: 160994.8483454938, sha: "e01bddd3e0fb7028ea782008b99ab54d3cd8b978402eedf7a3522d24f39948f1" },
    "only weights": { sum: -1687.0624568403882, sumSq: 160650.24402098986, sha: "0a3db4f566ec6caa401c32795be9519eb81c8f8488ad0bc2d3334761056367c3" },
    "only embedding": { sum: -1724.3061595119273, sumSq: 161257.7030964082, sha: "b7f4f413b74800163588d6c35849fbf500c310412dc3bbc9eb268377de96b49e" },
    "only act_attn": { sum: -1716.3886884975814, sumSq: 160940.18358959505, sha: "39909c1947511bfe7e2289569191ea1748f28fcdc2d7570cad5fb0b6249cac49" },
    "only act_wo": { sum: -1716.9065369335842, sumSq: 160947.94477392663, sha: "d8a322e33a363f46b1c11482b4ff04f71662ad353f9b6744cdce6f9e78c5509c" },
    "only act_ffn": { sum: -1716.772674463151, sumSq: 160949.92621092376, sha: "ab7ab19a3105bf513d2522649cd2977f053769c6984b45f6d6f57daac44a4358" },
    "only act_w2": { sum: -1716.3059083928526, sumSq: 160983.67671197923, sha: "ce4afd40f44e2843d6f566310dca384b22dbbe9af1f142de56ac5441f9e231eb" },
    "only act_cls": { sum: -1716.4625173873098, sumSq: 160940.37153711065, sha: "43cc22da899e8613e484df59ceb9ac35c02a2779381b12be83145f9557388996" },
    "only q": { sum: -1716.51460490593, sumSq: 160947.0116638201, sha: "5f6fd09cd224ef01f5607a9cfb7b16dc1dabb5bb77d0a5f42647a1c06b32bc27" },
    "only k": { sum: -1716.8927369475716, sumSq: 160947.85653927922, sha: "358b1f75ff636bfc6db51d8c1bba23032f021e675b136073f79e36abd2e9e668" },
    "only v": { sum: -1714.1403836615518, sumSq: 160962.9578389496, sha: "d707d82c2cd2e1161934a9afe97010b4c99eea48b9ec7739d9b22cd116dbb38f" },
    "wq,w2 clipped": { sum: -1719.7246507986065, sumSq: 160935.51555297791, sha: "a9ab4a4a3e0adc5e6ea9c9ad4b38ba3cf559de393b8c3ef897c7f771efeae87f" },
    "quantizedRows": { sum: -1003.7680910508209, sumSq: 166254.58403270238, sha: "27daa3d0f7f04d94cf30f230316a586c262a1f2795aea4ee33829b8cd3843225" },
    "int8 acts": { sum: -1694.7489883132966, sumSq: 161437.33908352492, sha: "5ba148318df0246a139190381fd0c5c03e93dbbd09922cec2a3a67ee333e4ae9" },
    "taps": "402b8e1323c2ca964d8097795974cc21af6bcbe31ddb80498e8f2ec22e616285",
    "hessians": "8f3f15f6ca56a0d6e272cf7a58216695e953292fe9229e0d95ea093adc39c4eb",
  },
  "stories260K+spec": {
    "none": { sum: -68031.3432112593, sumSq: 1352894.8218024338, sha: "0f6031f089ccccf4fbc952ed19403f83c7790ccb46d9f53feabc6ace7e551cdc" },
    "all": { sum: -67719.8715975027, sumSq: 1347001.5736821678, sha: "89f487141aca5f43d71d9cc2dd63a7863e45da3799863bf621efae4735d64fc8" },
    "only weights": { sum: -67812.7792981859, sumSq: 1349978.5495669388, sha: "f51ab23e426bbde7393982cffa3379f86de56f94f2260bbb21bae5aab1a13ef0" },
    "only embedding": { sum: -67965.08595171435, sumSq: 1350967.3885846306, sha: "f5a075e0d7640fa54e2ae194ace9d787bcd43dcc8ebc1d72ae2b04bdd6fc4c87" },
    "only act_attn": { sum: -68029.11749267447, sumSq: 1352872.7827702858, sha: "03ddcfd04502648342a61797c5e91db03b1341adc2eb8289658aaca5cde268e3" },
    "only act_wo": { sum: -68034.03221147732, sumSq: 1352959.064129428, sha: "783e3d6bac48c577afcaa8cbc3e6c18b804e396b7ca0f67d0164567a4afd1057" },
    "only act_ffn": { sum: -68032.42555609776, sumSq: 1352888.664655591, sha: "92d2eef8edec3734e3f02d8a25a290f18e39d1607fe37c26e20b4ead4dd51419" },
    "only act_w2": { sum: -68021.30628781667, sumSq: 1352751.0225510737, sha: "bc489d35c35c7a1ef8d8a3cfbf29ef10cbf0eab5ce8e7349843cd75bb6f4fdbd" },
    "only act_cls": { sum: -68028.13742474093, sumSq: 1352826.4680093867, sha: "5229e64aca9d563c42a1bbc1ac6f31abd6c80bb8459541fa0b4fa13c6b3efb1c" },
    "only q": { sum: -68034.2125384799, sumSq: 1353052.514336799, sha: "60a7e0f919c431bc9641dd424b414c929f6bfaad9e0f365acf24f618844a6f2c" },
    "only k": { sum: -68006.19346998299, sumSq: 1352462.9328384148, sha: "662ea4771bbe74d879f884fc1f07fabaf8c6fe79c06415cfba78529d4c3408b2" },
    "only v": { sum: -67992.59620952468, sumSq: 1352005.025290376, sha: "a65d078cf01a38b464ebb910a29e76629ffab806553d7932904b034a2a92f9af" },
    "wq,w2 clipped": { sum: -67903.25355266026, sumSq: 1350263.9407785926, sha: "9579c473cb4689f5f1450734f12e9455ea69a2a3b0c17c4cef20b2fdb4d69c52" },
    "quantizedRows": { sum: -62727.44753828779, sumSq: 1162963.7307816336, sha: "0806d0ab5c186c3879c8d1868e792c258ae47b10ac2d3a6a98d5a351453b774c" },
    "int8 acts": { sum: -67321.237858596, sumSq: 1337444.3751292957, sha: "25a95e12dcde7f7b0ae92a27029d5be446b8662c3cd249afd57d286139c53adb" },
    "taps": "0ed70798bcc9117d457dfdec9160330c297f7175b86677f77bcd623a333472ec",
    "hessians": "3ad41a87853be6e3c457c6096519f983878a4484996570bccfb005317bb3955b",
  },
};

const cases: [string, () => FloatWeights][] = [
  ['stories260K', () => load('stories260K')], ['babyllama936K', () => load('babyllama936K')],
  ['stories260K+spec', () => withSpec(load('stories260K'))],
];
for (const [name, get] of cases) {
  test(`${name}: ablation logits of every configuration, taps and Hessians as before the merge`, () => {
    const w = get();
    const got: Record<string, Result | string> = {};
    for (const [label, opts] of configs(w)) got[label] = run(w, opts);
    got.taps = tapHash(w);
    got.hessians = hessianHash(w);
    if (process.env.PRINT_PINS) console.log(`PIN ${JSON.stringify({ [name]: got })}`);
    assert.equal(got, OLD[name]);
  });
}

test.run();
