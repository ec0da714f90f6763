import { scaleConfigYaml } from './dist/bench/config-scale.js';
import { parseConfig } from './dist/src/model/validate.js';
const y = scaleConfigYaml(Number(process.argv[2] ?? 10000), 100, 10);
const c0 = process.cpuUsage(); parseConfig(y, 'x'); console.log('cpu ms', process.cpuUsage(c0).user / 1000);
