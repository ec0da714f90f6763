import { scaleConfigYaml } from './dist/bench/config-scale.js';
import { parseConfig } from './dist/src/model/validate.js';
import { performance } from 'node:perf_hooks';
const y = scaleConfigYaml(Number(process.argv[2] ?? 10000), 100, 10);
const c0 = process.cpuUsage(); const t0 = performance.now(); parseConfig(y, 'x'); const c = process.cpuUsage(c0);
console.log(process.execArgv.join(' '), 'cpu ms', ((c.user + c.system) / 1000).toFixed(0), 'wall', (performance.now() - t0).toFixed(0));
