// Pins of the ablation simulator's exact outputs (compiler/eval/ablate.ts), for issue 13's
// "one float model": the simulator's own float64 forward was replaced by
// compiler/reference/float/model.ts with hooks. Like float-model-pins.test.ts these say
// nothing about correctness (eval.test.ts and int-model.test.ts do), only that the
// refactor moved no result.
// OLD holds numbers computed by the simulator's own forward before the change (commit
// 94e0402): per configuration, the sum and the sum of squares of every logit over
// POSITIONS positions, and the sha256 of those logits, of the calibration taps and of
// calibrate()'s Hessians. The old forward computed SiLU as a/(1+e^-a), model.ts computes
// run.c's a·(1/(1+e^-a)) in every mode; with that one line switched back, model.ts
// reproduced every OLD hash exactly (all 45 logit hashes, taps and Hessians). With run.c's
// order the sums moved by at most 3.4e-15 relative (babyllama936K, quantizedRows), the
// GPTQ bundles of stories260K (uniform:8 a22d4fb5…, uniform:4g64 a332715c…, whose
// Hessians come from calibrate()) kept every byte, and scripts/ablate-int8.ts printed the
// same table (2000 tokens). NEW pins the merged model's hashes.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { FloatWeights } from '../compiler/import/graph.ts';
import { AblationTransformer, SITES, type AblationOptions } from '../compiler/eval/ablate.ts';
import { calibrate } from '../compiler/quantize/calibrate.ts';
import { quantizeRows } from '../compiler/quantize/weights.ts';
import { PIN_MODELS, hasher, tokenAt } from './helpers/float-pins.ts';

const POSITIONS = 24;
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

const NEW: Record<string, Record<string, string>> = {
  "stories260K": {
    "none": "82bac614069e0cc542c79e9eddc2e473e3f4ea976e247e2a51f294a40213fa57",
    "all": "c0465052941cf5b4ef3567878d078437db2b2ec2dec33768899f9b33f90c3b3a",
    "only weights": "1d5999c82d800ccc0ed2d0ee375e7d55d2a46528174ab6440eb811ab04447d91",
    "only embedding": "20825100ca5025066da629e97635e588a27e91df5229f8c3b839e4f67e5b45e6",
    "only act_attn": "0504c6f57c5fd73f5b21afbca219089f136fb01188afc2e81e0685216f24367b",
    "only act_wo": "1438dd541ca664d69ad93d2a2b9b42c2789a4bf9ecb127643e3893eaf97a3d04",
    "only act_ffn": "da0bbe114f35505826a8e8b319b74d6c672dca28a5ceb0617310a9d86685470b",
    "only act_w2": "8e1b9a73b05f4b0ca662abbcd16d9e6027f58a166e6c3ebb0a5fbb371cad6672",
    "only act_cls": "be4e2130076c779bb0ab74a8c700a08a273d7526d4da32dde23bcf785f0ae3fd",
    "only q": "7f43ee9f9a1b9ac8f8657b98604ca53236bf9564b87de825a2fa00a1f2606ed5",
    "only k": "dd1e015710c962d7a847cfecf0372ad37a28a2a21dfc3dfd65ce69053d07bf29",
    "only v": "ea54d891830e1421c8c45e11203ccdf1ab796aca147562c5376707ed0f02006d",
    "wq,w2 clipped": "59cf06eee05a40c69876f12302faff34660d99200f2706279ba865679e2a1e24",
    "quantizedRows": "c51c16213b5d7b909dbe68bce38198b0f2097db9c1341b840a2b0571253eac46",
    "int8 acts": "5aade86cfbd653b273794049832d24037546e4c460dafadadabbde60b9793180",
    "taps": "78a870ef704ad1e2e28c4c4dbd68a8e164fb49f699f414a85c47405422bf6897",
    "hessians": "7793720c16aabeda109ae6febc60a47a3fabd5514299c44e5324fb3ebf517244",
  },
  "babyllama936K": {
    "none": "285670fe947b2f8a063fe78f6beda9e4f8d4a4abd0cf61eb681488e1b255cfe3",
    "all": "16341a8422d2e5e9da0fece65eabf9a3fd83c3903df5db2b5195f7ce8906e2df",
    "only weights": "60b02eeb67f9a665dac073a6a5bb3ac743825fb5c6b7fe97ae09c1566890935b",
    "only embedding": "2ab7747d5483ca1721a0d64206266579b57d512c7ac171ca21e900e608a06c3b",
    "only act_attn": "66edbcf21470342ba13da45d59088983227a04c2fc400e1ea7f66f8abe67fd55",
    "only act_wo": "1b6f5ae252a4f29ab16b9beb2c4b8d7271c7fc6db6237e6989e13e69f6c69af5",
    "only act_ffn": "110be12cedc1e3bb52fbcf35170f77c1120c54e45fe46966779d71a6792a279e",
    "only act_w2": "1af36e873e7da1a714ac7722311f5e95c5efa4c8d8a3c3ac4348ea54021f17f4",
    "only act_cls": "542d9bdfc0a48a631c37747a46a964da14aed77d3fa9f82e1dc8ff513b959145",
    "only q": "baa99ea29f793271a4e250bd208dc101375b7368b75e44688dd033e27f677bfd",
    "only k": "aa82e8e1a63bf6d1e3efa3d66d24cdc3a1a23a41ca70f38800dfd66e24a61ed2",
    "only v": "f6434a7b584ce40058080fdfbad7a6a262d1859b822a8f39f487acf7c042c24b",
    "wq,w2 clipped": "482c198ed516c0cb6335490b8cef60ce7891e6d3082002718e7ff82419f96263",
    "quantizedRows": "bf04ae47faa7e735246b6ce39b9a05e0984af60a89eeb87079ee1995fe4aeef3",
    "int8 acts": "872e65f09b0a54cabaf148ed5bf7405c362c2ff55e70579e30233f2b95d865a0",
    "taps": "7dd91a5de64eaf66ee8863b7483d307546f6797ec27867b9b4e569162c6ab47c",
    "hessians": "306974b6115a0498c9d6dddfe2f26742b1cd6d67c7c1c3d816a31fc6ab121744",
  },
  "stories260K+spec": {
    "none": "46dd24aee78fbc22fd97b2eb12c4b5ed998751d477b73a7778a3b4561a51e19e",
    "all": "b54d7ba2e8996f1f1316842560e20a9038232afcbbd3dddbcab618314978c9f6",
    "only weights": "73c71efde97fd392ae8896604b51922f4e23bd8eeaedca50c03280528da0a8d7",
    "only embedding": "68772021667fa01b04d961a6d93d3436acc00363de7458ae9a9a9a63c414e851",
    "only act_attn": "c0576f6f3e253016c26560272ec944d553ddbfbc26941867fb115a03f38b38f7",
    "only act_wo": "c36e6a5cb4fc60f11faf0ecccd2b1cc23fb49e63abaaba1436192c4ad1e20c81",
    "only act_ffn": "1bfaa5ee8491699969351becb32ef0fa96ba4f9ebd8cc2d8610150ed9961b641",
    "only act_w2": "b502c7d52a098aebcdeeda65d90223396b746fbef930fd3db2d682f08ae085d6",
    "only act_cls": "fc9163de02835562b64e66ddb517de1c3171475607257e4dadb5e3a4c862b02d",
    "only q": "7355280582faf4c9c5cd3401ca7e52ed201da7577acaa22fb757fec767eec651",
    "only k": "45640a28f327882d23706fdf91e6d60f7480dad6da32b2f2ce2552d5213b6a49",
    "only v": "4debea867f8a2d8806603ac84718395541b9a61e904d1673e5618b6c294eb47a",
    "wq,w2 clipped": "9871244eb647c89d0ab94b0006206442b6ce2081292dfa91604353bd7c9ebb24",
    "quantizedRows": "d749f512ccb45460988b86ef6b49e5992570ac5503007462cbe8f8f370ad5a4e",
    "int8 acts": "33bdc830d3bbc36b7804e39fe7c6af3acbf20a35155191ca07a48c000d24c471",
    "taps": "4d00e65ca9fbe08e9e7520700c547d2a12e117ea60359ad5851009761c95f1c8",
    "hessians": "dbbee2cb124446427fd3edfb77220b972296cd1ccb901103ef5bc1e0ea14f37d",
  },
};

for (const [name, get] of PIN_MODELS) {
  test(`${name}: ablation logits of every configuration, taps and Hessians as before the merge`, () => {
    const w = get();
    const got: Record<string, Result | string> = {};
    for (const [label, opts] of configs(w)) got[label] = run(w, opts);
    got.taps = tapHash(w);
    got.hessians = hessianHash(w);
    if (process.env.PRINT_PINS) console.log(`PIN ${JSON.stringify({ [name]: got })}`);
    for (const [label, want] of Object.entries(OLD[name])) {
      const g = got[label];
      if (typeof want === 'string' || typeof g === 'string') continue;
      for (const k of ['sum', 'sumSq'] as const) {
        assert.ok(Math.abs(g[k] - want[k]) <= 1e-14 * Math.abs(want[k]), `${label} ${k}: ${g[k]} vs ${want[k]} before`);
      }
    }
    const hashes = Object.fromEntries(Object.entries(got).map(([k, v]) => [k, typeof v === 'string' ? v : v.sha]));
    assert.equal(hashes, NEW[name]);
  });
}

test.run();
