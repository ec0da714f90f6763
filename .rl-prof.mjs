import { scaleConfigYaml } from '/work/wt/reload4/dist/bench/config-scale.js';
import { parseDocument, LineCounter, parse, Parser, Composer } from 'yaml';
import { parseConfig } from '/work/wt/reload4/dist/src/model/validate.js';
import { performance } from 'node:perf_hooks';
const n = Number(process.argv[2] ?? 10000);
const y = scaleConfigYaml(n, 100, 10);
const T = (l, f) => { const t = performance.now(); const r = f(); console.log(l, (performance.now() - t).toFixed(0), 'ms'); return r; };
for (let round = 0; round < 2; round++) {
  const cpu0 = process.cpuUsage();
  const doc = T('parseDocument', () => parseDocument(y, { lineCounter: new LineCounter(), prettyErrors: true, uniqueKeys: true }));
  const js = T('toJS', () => doc.toJS({ maxAliasCount: 1000 }));
  T('parseConfig', () => parseConfig(y, 'x'));
  console.log('cpu', (process.cpuUsage(cpu0).user / 1000).toFixed(0));
}
