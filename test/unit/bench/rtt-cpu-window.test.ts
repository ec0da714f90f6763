/**
 * The bench's router CPU per round trip (bench/measure.ts measureRtt) counts from the end of the warm-up: an echo
 * process that burns 1 ms of CPU on each warm-up datagram (as new nodes do while V8 compiles) and little after
 * it shows its cost of the counted round trips only. On loopback, with bench/uping.ts as the pinger.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { Proc } from '../../../bench/exec.js';
import { measureRtt } from '../../../bench/measure.js';
import type { Plan } from '../../../bench/plan.js';

const WARMUP = 200;
const COUNT = 100;
const BURN_MS = 1;

const ECHO = `
const s = require('node:dgram').createSocket('udp4');
let n = 0;
s.on('message', (m, r) => {
  if (n++ < ${WARMUP}) for (const t = process.cpuUsage(), u = () => process.cpuUsage(t); u().user + u().system < ${BURN_MS * 1000};);
  s.send(m, r.port, r.address);
});
s.bind(0, '127.0.0.1', () => process.stdout.write(s.address().port + '\\n'));`;

test('the CPU window starts after the warm-up: warm-up datagrams that cost 1 ms each do not count', async () => {
  const child = spawn(process.execPath, ['-e', ECHO], { stdio: ['ignore', 'pipe', 'inherit'] });
  try {
    const [line] = (await once(child.stdout, 'data')) as [Buffer];
    const port = Number(line.toString().trim());
    const echo: Proc = { name: 'echo', pid: child.pid!, log: '', child, exited: false, exitCode: null };
    const plan = { pingRuns: 1, pingCount: COUNT, pingWarmup: WARMUP } as Plan;
    const r = await measureRtt(plan, () => {}, undefined, [echo], { host: '127.0.0.1', port, cPort: 0 });
    const perRtt = r.routerCpuUsPerRtt!.median;
    console.log(`    echo CPU ${perRtt.toFixed(0)} µs per counted round trip; ${r.runs[0]!.received} of ${COUNT} answered`);
    assert.ok(r.runs[0]!.received >= COUNT / 2, `most counted round trips answered (${r.runs[0]!.received})`);
    // the warm-up alone would add WARMUP * 1 ms / (WARMUP + COUNT) = 667 µs to each round trip
    assert.ok(perRtt < 500, `echo CPU ${perRtt.toFixed(0)} µs per counted round trip`);
  } finally {
    child.kill();
  }
});

test.run();
