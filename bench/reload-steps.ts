/**
 * What a reload costs the data path's thread, piece by piece (issue 19 item 6; docs/performance.md "Config at
 * scale"): r1 with 10,000 services × 100 tenants and 1,000,000 sessions; each piece timed alone, `--rounds`
 * times, min and median: receiving the validated config (one structured clone, or the longest of its slices:
 * util/sliced-clone.ts), compiling (every table, or with the access table and FIB prepared in the config
 * thread: prepareTables), the swap (Dataplane.setTables). The reload runs each piece in its own turn; the
 * one-turn figure is what the node did before (clone, full compile and swap in one go).
 *   node --expose-gc dist/bench/reload-steps.js [--services 10000] [--sessions 1000000] [--rounds 12]
 */
import { performance } from 'node:perf_hooks';
import { deserialize, serialize } from 'node:v8';
import { Dataplane } from '../src/dataplane/dataplane.js';
import { compileRouter, prepareTables } from '../src/model/compile.js';
import { parseConfig } from '../src/model/validate.js';
import { sliceValue } from '../src/util/sliced-clone.js';
import { fill, scaleConfigYaml } from './config-scale.js';
import { Sink } from './inprocess-config.js';

function arg(name: string, def: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : def;
}

const services = arg('services', 10_000);
const rounds = arg('rounds', 12);
const config = parseConfig(scaleConfigYaml(services, 100, 10, true), 'scale');
const first = compileRouter(config, 'r1', 1);
const dp = new Dataplane({ tables: first, ports: first.interfaces.map(() => new Sink()) });
fill(dp, arg('sessions', 1_000_000), 64);
const whole = serialize(config);
const { sliced } = sliceValue(config);
const prepared = prepareTables(config, 'r1');
const time = (f: () => void): number => {
  const t = performance.now();
  f();
  return performance.now() - t;
};
const m = { clone: [] as number[], slice: [] as number[], compile: [] as number[], compilePrepared: [] as number[], swap: [] as number[] };
for (let i = 0; i < rounds; i++) {
  m.clone.push(time(() => deserialize(whole)));
  m.slice.push(Math.max(time(() => deserialize(new Uint8Array(sliced.head))), ...sliced.arrays.flatMap((a) => a.slices.map((s) => time(() => deserialize(new Uint8Array(s)))))));
  m.compile.push(time(() => compileRouter(config, 'r1', 2 + i)));
  let tables = first;
  m.compilePrepared.push(time(() => { tables = compileRouter(config, 'r1', 2 + i, [], prepared); }));
  m.swap.push(time(() => dp.setTables(tables)));
}
const stat = (xs: number[]): { min: number; median: number } => {
  const s = [...xs].sort((a, b) => a - b);
  return { min: s[0]!, median: s[s.length >> 1]! };
};
const f = (xs: number[]): string => `min ${stat(xs).min.toFixed(1)} median ${stat(xs).median.toFixed(1)} ms`;
const oneTurn = m.clone.map((c, i) => c + m.compile[i]! + m.swap[i]!);
const longestTurn = m.slice.map((s, i) => Math.max(s, m.compilePrepared[i]!, m.swap[i]!));
process.stdout.write(`${services} services × 100 tenants, ${dp.sessions.active} sessions, ${rounds} rounds, load average ${(await import('node:os')).loadavg().map((x) => x.toFixed(1)).join(' ')}\n`
  + `receive the config: one clone ${f(m.clone)}; longest slice ${f(m.slice)}\n`
  + `compile: every table ${f(m.compile)}; access table and FIB prepared ${f(m.compilePrepared)}\n`
  + `swap: ${f(m.swap)}\n`
  + `longest turn of the data path's thread: all in one turn ${f(oneTurn)}; in turns ${f(longestTurn)}\n`);
