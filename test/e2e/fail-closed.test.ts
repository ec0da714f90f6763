/**
 * Fail closed on real nodes (docs/security.md "Fail closed"): a node that starts with a security plugin
 * forwards no packet before the plugin is loaded. `svr lab up --plugin <guard>`: the guard is a security
 * function (`security: true`) that refuses UDP sessions to port 7 and whose control part takes 2 s to
 * load. r1 is stopped, the client sends a UDP stream to port 7 (refused) and one to port 5000 (allowed),
 * tcpdump captures r1's WAN veth, and r1 starts again under that traffic. `svr decode` of the capture: no
 * metadata packet opens a session to port 7 (had r1 forwarded before its guard was in place, the first of
 * those 2 s would have), while the port 5000 stream opens its session and flows; r1 counts the refusals.
 * Needs root, ip, iperf3, curl (the lab) and tcpdump; otherwise its tests count as skipped.
 */
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as assert from 'uvu/assert';
import { nodeLaunch } from '../../src/lab/launch.js';
import { backgroundLines, e2eDir, E2E_PREFIX, exec, parseNdjson, pollUntil, show, sleep, startCapture, svr, SVR, type DecodedLine, LAB_UP_MS } from './support.js';
import { requires } from '../support/prerequisites.js';

const PREFIX = `${E2E_PREFIX}f`;
const CLIENT_NS = `${PREFIX}-client`;
const R1_NS = `${PREFIX}-r1`;
const SERVER = '198.18.3.20';
const LOAD_MS = 2000;

const test = requires(import.meta.url);
const dir = e2eDir(test, `${PREFIX}-e2e-fail-closed`, () => downSync());
const runDir = join(dir, 'run');
const env = { SVR_RUN_DIR: runDir };
const labArgs = ['--prefix', PREFIX, '--dir', dir];
const r1Socket = join(dir, 'r1.sock');
const downSync = (): void => {
  spawnSync(process.execPath, [SVR, 'node', 'stop', '--socket', r1Socket], { env: { ...process.env, ...env }, stdio: 'ignore' });
  spawnSync(process.execPath, [SVR, 'lab', 'down', ...labArgs], { env: { ...process.env, ...env }, stdio: 'ignore' });
};

const GUARD = `// a security function for the fail-closed test: refuses UDP sessions to port 7; its control part loads slowly
export default {
  name: 'test.slow-guard',
  version: '1.0.0',
  api: '^1.2',
  security: true,
  options: (raw) => raw ?? {},
  dataplane(ctx) {
    ctx.onSessionOpen((s) => { if (s.protocol === 17 && s.dstPort === 7) s.refuse('drop'); });
  },
  async control() {
    await new Promise((r) => setTimeout(r, ${LOAD_MS}));
  },
};
`;

test.after(() => {
  downSync();
  // e2eDir removes the directory when every test passed (kept with the logs otherwise)
});

test('a node starting with a security plugin forwards nothing before it is loaded: under traffic, no session to the guarded port opens, the allowed one does', async () => {
  const guard = join(dir, 'slow-guard.mjs');
  writeFileSync(guard, GUARD);
  const up = await svr(['lab', 'up', ...labArgs, '--plugin', guard], env, LAB_UP_MS);
  assert.is(up.code, 0, show(up));
  const stop = await svr(['node', 'stop', '--socket', r1Socket], env);
  assert.is(stop.code, 0, show(stop));
  await pollUntil('r1 stopped', 10_000, async () => ((await svr(['show', 'stats', '--socket', r1Socket], env)).code !== 0 ? true : undefined));
  const capture = await startCapture(R1_NS, 'r1-r2', join(dir, 'wan.pcap'));
  const stream = (to: string, id: string) => backgroundLines('ip', ['netns', 'exec', CLIENT_NS, process.execPath, SVR, 'lab', 'send-stream', '--to', to, '--rate', '200', '--duration', '12s', '--id', id]);
  const guarded = stream(`${SERVER}:7`, '7');
  const allowed = stream(`${SERVER}:5000`, '5000');
  const launch = nodeLaunch(dir, 'r1', runDir);
  let node: ReturnType<typeof backgroundLines> | undefined;
  try {
    await sleep(1000); // traffic before r1 is there
    const t0 = Date.now();
    node = backgroundLines('ip', ['netns', 'exec', R1_NS, launch.cmd, ...launch.args]);
    const running = await node.waitLine(/node\.running/, 30_000);
    const startedMs = Date.now() - t0;
    const loaded = node.lines.findIndex((l) => /plugin\.loaded/.test(l) && l.includes('test.slow-guard'));
    assert.ok(loaded >= 0 && loaded < node.lines.indexOf(running), `the guard loaded before the node ran: ${node.lines.slice(0, 40).join('\n')}`);
    await sleep(3000);
    await guarded.stop();
    await allowed.stop();
    await sleep(300);
    await capture.stop();
    const decoded = await exec(process.execPath, [SVR, 'decode', capture.file, '--metadata-only']);
    assert.is(decoded.code, 0, show(decoded));
    const opened = parseNdjson<DecodedLine>(decoded.stdout).map((d) => d.metadata?.forward?.dstPort).filter((p) => p !== undefined);
    const stats = JSON.parse((await svr(['show', 'stats', '--json', '--socket', r1Socket], env)).stdout) as Record<string, number>;
    console.log(`    r1 started under traffic in ${startedMs} ms (the guard takes ${LOAD_MS} ms to load); sessions opened on the wan: `
      + `port 5000 ${opened.filter((p) => p === 5000).length}, port 7 ${opened.filter((p) => p === 7).length}; r1 refused ${stats['drop-refused-by-plugin']} first packets`);
    assert.ok(startedMs >= LOAD_MS, 'the node waited for its guard');
    assert.ok(opened.includes(5000), 'r1 forwards once it runs: the allowed stream opened its session');
    assert.not.ok(opened.includes(7), 'no session to the guarded port ever left r1');
    assert.ok(stats['drop-refused-by-plugin']! > 100, 'the guarded stream reached r1 and was refused');
  } finally {
    await guarded.stop();
    await allowed.stop();
    await node?.stop();
  }
});

test.run();
