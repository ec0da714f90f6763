/**
 * End to end: `svr lab up --conductor --etcd 3`: three etcd members and two conductors (real processes)
 * in the lab's conductor namespace, r1 and r2 real `svr node` processes that know both conductors. A
 * stream of commits runs while the leading conductor is killed (SIGKILL): the standby leads within 10 s,
 * every acknowledged version and its audit event is there (no gap, none twice), both routers follow
 * the new leader to the last version and run it, and traffic flows through them all along.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as assert from 'uvu/assert';
import { parse } from 'yaml';
import { conductorSessionPath, CONDUCTOR_PORT, STANDBY_PORT } from '../../src/lab/conductor.js';
import type { AuditEvent, VersionSummary } from '../../src/conductor/store/authority-store.js';
import { backgroundLines, e2eDir, E2E_PREFIX, exec, pollUntil, show, svr, SVR, type Result, LAB_UP_MS } from './support.js';
import { requires } from '../support/prerequisites.js';

const PREFIX = E2E_PREFIX;
const NS = { client: `${PREFIX}-client`, conductor: `${PREFIX}-conductor` };
const STREAM = fileURLToPath(new URL('../support/commit-stream.js', import.meta.url));
const COMMITS = 12;

const test = requires(import.meta.url);
const dir = e2eDir(test, `${PREFIX}-e2e-ha`, () => downSync());
const env = { SVR_RUN_DIR: join(dir, 'run') };
const session = () => ({ ...env, SVR_CONDUCTOR_SESSION: conductorSessionPath(dir) });
const labArgs = ['--prefix', PREFIX, '--dir', dir];
let up = false;

const downSync = (): void => {
  spawnSync(process.execPath, [SVR, 'lab', 'down', ...labArgs], { env: { ...process.env, ...env }, stdio: 'ignore' });
};

const cli = (args: readonly string[]): Promise<Result> => exec('ip', ['netns', 'exec', NS.conductor, process.execPath, SVR, ...args], { env: session() });

async function json<T>(args: readonly string[]): Promise<T> {
  const r = await cli(args);
  assert.is(r.code, 0, show(r));
  return JSON.parse(r.stdout) as T;
}

/** `leader` or `standby` as the conductor on `port` says, undefined when it does not answer. */
async function roleOf(port: number): Promise<string | undefined> {
  const r = await exec('ip', ['netns', 'exec', NS.conductor, 'curl', '-sk', '-m', '2', `https://127.0.0.1:${port}/api/v1/status`]);
  try {
    return (JSON.parse(r.stdout) as { role: string }).role;
  } catch {
    return undefined;
  }
}

function processOf(name: string): { pid: number; log: string } {
  const state = JSON.parse(readFileSync(join(dir, 'state.json'), 'utf8')) as { processes: { name: string; pid: number; log: string }[] };
  return state.processes.find((p) => p.name === name)!;
}

async function routersOn(version: number): Promise<boolean> {
  const rows = await json<{ router: string; status: string; version: number }[]>(['conductor', 'show', 'routers', '--json']).catch(() => []);
  return rows.length === 2 && rows.every((x) => x.status === 'synchronized' && x.version === version);
}

async function web(): Promise<string> {
  return (await exec('ip', ['netns', 'exec', NS.client, 'curl', '-s', '-o', '/dev/null', '-m', '4', '-w', '%{http_code}', 'http://198.18.3.20/'])).stdout.trim();
}

test.after(async () => {
  const r = await svr(['lab', 'down', ...labArgs], env);
  if (r.code !== 0) console.error(`svr lab down failed: ${show(r)}`);
  // e2eDir removes the directory when every test passed (kept with the logs otherwise)
});

test('svr lab up --conductor --etcd 3: three etcd members, two conductors (one leads), r1 and r2 enrolled and synchronized', async () => {
  await svr(['lab', 'down', ...labArgs], env);
  const r = await svr(['lab', 'up', '--conductor', '--etcd', '3', ...labArgs], env, LAB_UP_MS);
  assert.is(r.code, 0, show(r));
  assert.match(r.stdout, /etcd member etcd3 running/);
  assert.match(r.stdout, /conductor2 running .* store: etcd \(3 members\)/);
  up = true;
  const roles = [await roleOf(CONDUCTOR_PORT), await roleOf(STANDBY_PORT)].sort();
  assert.equal(roles, ['leader', 'standby']);
  await pollUntil('r1 and r2 synchronized on version 1', 30_000, async () => ((await routersOn(1)) ? true : undefined));
  await pollUntil('traffic through r1 and r2', 20_000, async () => ((await web()) === '200' ? true : undefined));
});

test('kill the leader during a commit stream: the standby leads within 10 s; no version or audit event lost; both routers follow and run it', async () => {
  if (!up) assert.unreachable('the lab is not up');
  const leaderPort = (await roleOf(CONDUCTOR_PORT)) === 'leader' ? CONDUCTOR_PORT : STANDBY_PORT;
  const [leader, standby] = leaderPort === CONDUCTOR_PORT ? ['conductor', 'conductor2'] : ['conductor2', 'conductor'];
  const stream = backgroundLines('ip', ['netns', 'exec', NS.conductor, 'env', `SVR_CONDUCTOR_SESSION=${conductorSessionPath(dir)}`, process.execPath, STREAM, String(COMMITS)]);
  await stream.waitLine(/"i":4,/, 60_000);
  process.kill(processOf(leader).pid, 'SIGKILL');
  const killedAt = Date.now();
  assert.is(await web(), '200', 'forwarding while the conductors fail over');
  const code = await stream.exited;
  assert.is(code, 0, `the commit stream: ${stream.lines.join(' | ')}`);
  const acked = stream.lines.map((l) => JSON.parse(l) as { i: number; version: number; retries: number });
  assert.is(acked.length, COMMITS);

  const elected = readFileSync(processOf(standby).log, 'utf8').split('\n').filter((l) => l.includes('leader.elected')).at(-1) ?? '';
  const tookMs = Date.parse(/^(\S+)/.exec(elected)?.[1] ?? '') - killedAt;
  assert.ok(tookMs >= 0 && tookMs < 10_000, `the standby was elected ${tookMs} ms after the kill (${elected})`);
  assert.is(await roleOf(leaderPort === CONDUCTOR_PORT ? STANDBY_PORT : CONDUCTOR_PORT), 'leader');
  console.log(`  ${standby} elected ${tookMs} ms after SIGKILL of ${leader}; ${acked.length} commits acknowledged, ${acked.reduce((n, a) => n + a.retries, 0)} retries`);

  const versions = await json<VersionSummary[]>(['config', 'versions', '--json']);
  assert.equal(versions.map((v) => v.version), Array.from({ length: versions.length }, (_, k) => k + 1), 'versions 1..N, no gap');
  for (const a of acked) assert.is(versions.find((v) => v.version === a.version)?.message, `stream commit ${a.i}`, `acknowledged version ${a.version} is stored`);
  assert.equal(acked.map((a) => a.version), [...acked.map((a) => a.version)].sort((x, y) => x - y), 'in order');
  const audit = await json<AuditEvent[]>(['conductor', 'show', 'audit', '--json']);
  assert.equal(audit.map((e) => e.seq), Array.from({ length: audit.length }, (_, k) => k + 1), 'audit sequence without a gap');
  const commits = audit.filter((e) => e.action === 'config.commit' && e.result === 'ok').map((e) => e.target);
  assert.equal(commits, versions.map((v) => `version ${v.version}`), 'one commit event per version, none lost, none twice');

  const last = versions.at(-1)!.version;
  await pollUntil(`r1 and r2 on version ${last} through the new leader`, 30_000, async () => ((await routersOn(last)) ? true : undefined));
  for (const node of ['r1', 'r2']) {
    const r = await svr(['show', 'config', '--node', node], env);
    assert.is(r.code, 0, show(r));
    const echo = (parse(r.stdout) as { authority: { services: { name: string; timeouts?: { udp?: number } }[] } }).authority.services.find((s) => s.name === 'echo');
    assert.is(echo?.timeouts?.udp, 60 + COMMITS, `${node} runs the last commit`);
  }
  assert.is(await web(), '200');
});

test.run();
