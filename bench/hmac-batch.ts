/**
 * A batch's HMAC-SHA256 tags in process (docs/performance.md "Wave 26, tcp19"): signBatch and verifyBatch (sha256-128,
 * as the data path's path keys) over the TCP case's batch mix: 1,399-byte regions (a 1,389-byte segment and its
 * replay block) in batches of 8, 16 and 64, ACK-sized regions (62 bytes) in batches of 64, one ACK after every three
 * segments, and lengths spread over 40-1,400; with the SHA extensions interleaved (native/hmac-shani.c) and with the
 * AVX-512 lanes (SVR_HMAC_SHANI=0, what ran before), alternating, `--rounds` rounds. Reports ns of CPU per tag.
 *
 *   node dist/bench/hmac-batch.js [--tags 400000] [--rounds 5]
 */
import { randomBytes } from 'node:crypto';
import { BatchHmac } from '../src/crypto/native-crypto.js';

function arg(name: string, def: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i < 0 ? def : Number(process.argv[i + 1]);
}

const tags = arg('tags', 400_000), rounds = arg('rounds', 5);
const SEG = 1399, ACK = 62, TAG = 16, STRIDE = 1536;

const cases: { name: string; lens: number[] }[] = [
  { name: 'segments, 8 a batch', lens: new Array<number>(8).fill(SEG) },
  { name: 'segments, 16 a batch', lens: new Array<number>(16).fill(SEG) },
  { name: 'segments, 64 a batch', lens: new Array<number>(64).fill(SEG) },
  { name: 'ACKs, 64 a batch', lens: new Array<number>(64).fill(ACK) },
  { name: '3 segments : 1 ACK, 64', lens: Array.from({ length: 64 }, (_, i) => (i % 4 === 3 ? ACK : SEG)) },
  { name: 'spread 40-1400, 32', lens: Array.from({ length: 32 }, (_, i) => 40 + ((i * 977) % 1361)) },
];

function makeHmac(shani: boolean, key: Uint8Array): BatchHmac {
  const before = process.env['SVR_HMAC_SHANI'];
  process.env['SVR_HMAC_SHANI'] = shani ? '1' : '0';
  const h = BatchHmac.create('sha256-128', key, { impl: 'native' });
  if (before === undefined) delete process.env['SVR_HMAC_SHANI'];
  else process.env['SVR_HMAC_SHANI'] = before;
  return h;
}

/** ns of CPU per tag: signs the batch `tags / count` times (lengths reset each time), then verifies it as often. */
function run(h: BatchHmac, lens: readonly number[]): { sign: number; verify: number } {
  const n = lens.length, data = new Uint8Array(STRIDE * n), offsets = new Uint32Array(lens.map((_, i) => i * STRIDE));
  for (let i = 0; i < data.length; i++) data[i] = (i * 7) & 0xff;
  const plain = Uint32Array.from(lens), signed = Uint32Array.from(lens, (l) => l + TAG), lengths = new Uint32Array(n);
  const status = new Uint8Array(n), calls = Math.max(1, Math.round(tags / n));
  const c0 = process.cpuUsage();
  for (let k = 0; k < calls; k++) {
    lengths.set(plain);
    h.signBatch(data, offsets, lengths, n, -1);
  }
  const c1 = process.cpuUsage(c0);
  for (let k = 0; k < calls; k++) {
    lengths.set(signed);
    if (h.verifyBatch(data, offsets, lengths, n, -1, status) !== n) throw new Error('a good tag failed');
  }
  const c2 = process.cpuUsage(c0);
  const ns = (c: NodeJS.CpuUsage): number => (c.user + c.system) * 1000;
  return { sign: ns(c1) / (calls * n), verify: (ns(c2) - ns(c1)) / (calls * n) };
}

const median = (v: number[]): number => [...v].sort((a, b) => a - b)[v.length >> 1]!;
const key = randomBytes(32);
const arms = { shani: makeHmac(true, key), lanes: makeHmac(false, key) };
for (const c of cases) {
  run(arms.shani, c.lens); run(arms.lanes, c.lens); // warm-up
  const res = { shani: { sign: [] as number[], verify: [] as number[] }, lanes: { sign: [] as number[], verify: [] as number[] } };
  for (let r = 0; r < rounds; r++) {
    for (const name of (r % 2 === 0 ? ['shani', 'lanes'] : ['lanes', 'shani']) as (keyof typeof arms)[]) {
      const x = run(arms[name], c.lens);
      res[name].sign.push(x.sign);
      res[name].verify.push(x.verify);
    }
  }
  const f = (v: number[]): string => median(v).toFixed(0).padStart(5);
  console.log(`${c.name.padEnd(26)} ns of CPU per tag, medians of ${rounds}: sign SHA-NI ${f(res.shani.sign)} lanes ${f(res.lanes.sign)}` +
    `   verify SHA-NI ${f(res.shani.verify)} lanes ${f(res.lanes.verify)}`);
}
