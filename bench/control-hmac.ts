/**
 * The HMAC trailers of a hub's control packets in process (docs/performance.md "Hub scale", hub8): `--paths`
 * keys (one per path, sha256-128, time-based), received frames of `--frame` control packets of different paths
 * checked (TagBatch.verify, as wan-verify) and ticks of `--tick` packets signed (TagBatch.sign, as the data
 * path's held control packets), with the many-key call (native/hmac-many.c) and without (SVR_HMAC_MANY=0: one
 * call per key), alternating, `--rounds` rounds. Reports the CPU per tag of each, and the median.
 *
 *   node dist/bench/control-hmac.js [--paths 2000] [--frame 4] [--tick 20] [--tags 200000] [--rounds 5]
 */
import { randomBytes } from 'node:crypto';
import { BatchHmac } from '../src/crypto/native-crypto.js';
import { TagBatch } from '../src/dataplane/batch-tags.js';

function arg(name: string, def: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i < 0 ? def : Number(process.argv[i + 1]);
}

const paths = arg('paths', 2000), frame = arg('frame', 4), tick = arg('tick', 20), tags = arg('tags', 200_000), rounds = arg('rounds', 5);
/** a BFD packet (24) and its replay block (10); the tag (16) behind it */
const REGION = 34, TAG = 16, STRIDE = 128;
const keys = Array.from({ length: paths }, () => BatchHmac.create('sha256-128', randomBytes(32), { impl: 'native' }));
const data = new Uint8Array(STRIDE * 256);
for (let i = 0; i < data.length; i++) data[i] = i & 0xff;
const slot = 886_000;
/** region p signed with key p: the frames' packets, valid (a failed time-based tag costs two more slots) */
const signed = new Uint8Array(STRIDE * paths);
for (let p = 0; p < paths; p++) {
  for (let i = 0; i < REGION; i++) signed[p * STRIDE + i] = (p + i) & 0xff;
  keys[p]!.signBatch(signed, Uint32Array.of(p * STRIDE), Uint32Array.of(REGION), 1, slot);
}

function makeBatch(many: boolean): TagBatch {
  const before = process.env['SVR_HMAC_MANY'];
  process.env['SVR_HMAC_MANY'] = many ? '1' : '0';
  const t = new TagBatch();
  if (before === undefined) delete process.env['SVR_HMAC_MANY'];
  else process.env['SVR_HMAC_MANY'] = before;
  return t;
}

/** CPU µs per tag: signs ticks of `tick` packets, then checks frames of `frame` (each packet another path's key). */
function run(t: TagBatch): { sign: number; verify: number } {
  let k = 0;
  const c0 = process.cpuUsage();
  for (let done = 0; done < tags; done += tick) {
    for (let i = 0; i < tick; i++) t.add(i, keys[k++ % paths]!, slot, i * STRIDE, REGION);
    t.sign(data);
  }
  const c1 = process.cpuUsage(c0);
  k = 0;
  for (let done = 0; done < tags; done += frame) {
    for (let i = 0; i < frame; i++, k = (k + 1) % paths) t.add(i, keys[k]!, slot, k * STRIDE, REGION + TAG);
    t.verify(signed);
    for (let i = 0; i < frame; i++) if (t.checked(i, keys[(k - frame + i + paths) % paths]!) !== 1) throw new Error('a good tag failed');
  }
  const c2 = process.cpuUsage(c0);
  const us = (c: NodeJS.CpuUsage): number => c.user + c.system;
  return { sign: us(c1) / tags, verify: (us(c2) - us(c1)) / tags };
}

const median = (v: number[]): number => [...v].sort((a, b) => a - b)[v.length >> 1]!;
const on = makeBatch(true), off = makeBatch(false);
run(on); run(off); // warm-up
const res = { on: { sign: [] as number[], verify: [] as number[] }, off: { sign: [] as number[], verify: [] as number[] } };
for (let r = 0; r < rounds; r++) {
  for (const [name, t] of (r % 2 === 0 ? [['on', on], ['off', off]] : [['off', off], ['on', on]]) as [keyof typeof res, TagBatch][]) {
    const x = run(t);
    res[name].sign.push(x.sign);
    res[name].verify.push(x.verify);
  }
}
const f = (v: number[]): string => `${v.map((x) => x.toFixed(3)).join(' / ')} (median ${median(v).toFixed(3)})`;
console.log(`control HMAC, ${paths} keys, ticks of ${tick} signed, frames of ${frame} checked, µs of CPU per tag:`);
console.log(`  many-key call  sign ${f(res.on.sign)}  verify ${f(res.on.verify)}`);
console.log(`  one per key    sign ${f(res.off.sign)}  verify ${f(res.off.verify)}`);
