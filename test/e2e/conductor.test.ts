/**
 * End to end: `svr lab up --conductor`: a conductor in its own namespace, r1 and r2 real `svr node`
 * processes enrolled by ZTP with one-time tokens, then the config lifecycle through the CLI with curl
 * through both routers: a service added at the conductor reaches both routers, a bad commit changes
 * nothing, a rollback restores the previous behaviour, a router down during a commit is out of sync and
 * catches up, routers forward without the conductor (also across a restart) and resynchronise.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as assert from 'uvu/assert';
import { conductorArgs, conductorSessionPath, conductorUrls } from '../../src/lab/conductor.js';
import { e2eDir, E2E_PREFIX, exec, pollUntil, show, svr, SVR, type Result, LAB_UP_MS } from './support.js';
import { requires } from '../support/prerequisites.js';

const PREFIX = E2E_PREFIX;
const NS = { client: `${PREFIX}-client`, r1: `${PREFIX}-r1`, r2: `${PREFIX}-r2`, conductor: `${PREFIX}-conductor` };
const SERVER = '198.18.3.20';

const test = requires(import.meta.url);
const dir = e2eDir(test, `${PREFIX}-e2e-conductor`, () => downSync());
const env = { SVR_RUN_DIR: join(dir, 'run') };
const labArgs = ['--prefix', PREFIX, '--dir', dir];
const started: number[] = [];

const downSync = (): void => {
  spawnSync(process.execPath, [SVR, 'lab', 'down', ...labArgs], { env: { ...process.env, ...env }, stdio: 'ignore' });
};

/** `svr ...` inside the conductor's namespace with the lab's session. */
const cli = (args: readonly string[]): Promise<Result> =>
  exec('ip', ['netns', 'exec', NS.conductor, process.execPath, SVR, ...args], { env: { ...env, SVR_CONDUCTOR_SESSION: conductorSessionPath(dir) } });

interface RouterRow { router: string; status: string; version: number | null; head: number; connected: boolean }

async function routers(): Promise<RouterRow[]> {
  const r = await cli(['conductor', 'show', 'routers', '--json']);
  assert.is(r.code, 0, show(r));
  return JSON.parse(r.stdout) as RouterRow[];
}

/** Both routers synchronized on `version` (the conductor's view), within 20 s. */
async function bothOn(version: number): Promise<void> {
  await pollUntil(`r1 and r2 synchronized on version ${version}`, 20_000, async () => {
    const rows = await routers().catch(() => []);
    return rows.length === 2 && rows.every((x) => x.status === 'synchronized' && x.version === version) ? true : undefined;
  });
}

async function head(): Promise<number> {
  const r = await cli(['conductor', 'show', 'status', '--json']);
  assert.is(r.code, 0, show(r));
  return (JSON.parse(r.stdout) as { version: number }).version;
}

/** HTTP status of a GET through both routers (000: no answer within 4 s). */
async function web(): Promise<string> {
  const r = await exec('ip', ['netns', 'exec', NS.client, 'curl', '-s', '-o', '/dev/null', '-m', '4', '-w', '%{http_code}', `http://${SERVER}/`]);
  return r.stdout.trim();
}

async function webIs(code: string, what: string): Promise<void> {
  await pollUntil(`${what}: HTTP ${code}`, 20_000, async () => ((await web()) === code ? true : undefined));
}

function pidOf(name: string): number {
  const state = JSON.parse(readFileSync(join(dir, 'state.json'), 'utf8')) as { processes: { name: string; pid: number }[] };
  return state.processes.find((p) => p.name === name)!.pid;
}

/** Starts a process in a namespace in the background (lab down stops it: it stops every pid in its namespaces). */
function spawnIn(ns: string, args: readonly string[], log: string): void {
  const r = spawnSync('sh', ['-c', `ip netns exec ${ns} "$@" > ${log} 2>&1 & echo $!`, 'sh', process.execPath, SVR, ...args], { encoding: 'utf8' });
  started.push(Number(r.stdout.trim()));
}

async function waitLog(file: string, re: RegExp, what: string): Promise<void> {
  await pollUntil(what, 20_000, async () => {
    try {
      return re.test(readFileSync(file, 'utf8')) ? true : undefined;
    } catch {
      return undefined;
    }
  });
}

function restartNode(name: 'r1' | 'r2', tag: string): string {
  const log = join(dir, `${name}-${tag}.log`);
  spawnIn(NS[name], ['node', 'start', '--conductor', conductorUrls().join(','), '--asset-id', name, '--socket', join(dir, `${name}.sock`), '--run-dir', env.SVR_RUN_DIR, '--data-dir', join(dir, 'data', name)], log);
  return log;
}

test.after(async () => {
  const r = await svr(['lab', 'down', ...labArgs], env);
  if (r.code !== 0) console.error(`svr lab down failed: ${show(r)}`);
  // e2eDir removes the directory when every test passed (kept with the logs otherwise)
});

test('svr lab up --conductor: r1 and r2 enrolled by ZTP, both synchronized on the same version; traffic flows', async () => {
  await svr(['lab', 'down', ...labArgs], env);
  const r = await svr(['lab', 'up', '--conductor', ...labArgs], env, LAB_UP_MS);
  assert.is(r.code, 0, show(r));
  assert.match(r.stdout, 'one-time enrolment tokens for r1, r2');
  await bothOn(1);
  const assets = JSON.parse((await cli(['conductor', 'show', 'assets', '--json'])).stdout) as { assetId: string; router: string; connected: boolean }[];
  assert.equal(assets.map((a) => [a.assetId, a.router, a.connected]), [['r1', 'r1', true], ['r2', 'r2', true]]);
  await webIs('200', 'the web service through r1 and r2');
  const table = await cli(['conductor', 'show', 'routers']);
  assert.match(table.stdout, /r1\s+r1\s+synchronized\s+1\s+1/);
  assert.match(table.stdout, /r2\s+r2\s+synchronized\s+1\s+1/);
});

test('a service removed and added again at the conductor: denied, then it reaches both routers and traffic flows', async () => {
  for (const path of ['services[web]', 'routers[r1].service-routes[web-via-r2]', 'routers[r2].service-routes[web-local]']) {
    const d = await cli(['config', 'delete', path]);
    assert.is(d.code, 0, show(d));
  }
  const c1 = await cli(['config', 'commit', '-m', 'remove web']);
  assert.is(c1.code, 0, show(c1));
  assert.match(c1.stdout, 'committed version 2; routers: r1 synchronized, r2 synchronized');
  await webIs('000', 'no web service: r1 forwards nothing');
  const sets: Array<[string, string]> = [
    ['services[web]', '{ addresses: [198.18.3.0/24], transport: [{ protocol: tcp, ports: [80] }], access-policy: [{ source: engineering }] }'],
    ['routers[r1].service-routes[web-via-r2]', '{ service: web, peer: r2 }'],
    ['routers[r2].service-routes[web-local]', '{ service: web, next-hop: { interface: lan0 } }'],
  ];
  for (const [path, value] of sets) {
    const s = await cli(['config', 'set', path, value]);
    assert.is(s.code, 0, show(s));
  }
  const diff = await cli(['config', 'compare', 'running', 'candidate']);
  assert.match(diff.stdout, /\+\s+- name: web/);
  const c2 = await cli(['config', 'commit', '-m', 'web is back']);
  assert.is(c2.code, 0, show(c2));
  await bothOn(3);
  await webIs('200', 'the web service added at the conductor');
});

test('a bad commit is refused with the field path; nothing changes on the routers', async () => {
  const s = await cli(['config', 'set', 'services[web].access-policy[0].source', 'nobody']);
  assert.is(s.code, 0, show(s));
  const c = await cli(['config', 'commit', '-m', 'bad']);
  assert.is(c.code, 1, show(c));
  assert.match(c.stderr, 'authority.services[3].access-policy[0].source: unknown tenant "nobody"');
  assert.is(await head(), 3);
  await bothOn(3);
  assert.is(await web(), '200');
  const v = await cli(['config', 'revert']);
  assert.is(v.code, 0, show(v));
});

test('rollback to the version without the service denies it again; rolling forward restores it', async () => {
  const back = await cli(['config', 'rollback', '2']);
  assert.is(back.code, 0, show(back));
  await bothOn(4);
  await webIs('000', 'the removed service is denied again');
  const fwd = await cli(['config', 'rollback', '3', '-m', 'web again']);
  assert.is(fwd.code, 0, show(fwd));
  await bothOn(5);
  await webIs('200', 'the service is back');
  const versions = await cli(['config', 'versions']);
  assert.match(versions.stdout, /4\s+\S+\s+admin\s+rollback to version 2 \(rollback of 2\)/);
});

test('a router down during a commit is out of sync and gets the version when it is back', async () => {
  process.kill(pidOf('r2'), 'SIGTERM');
  await pollUntil('r2 disconnected', 15_000, async () => ((await routers()).find((x) => x.router === 'r2')?.connected === false ? true : undefined));
  const s = await cli(['config', 'set', 'services[echo].timeouts', '{ udp: 60 }']);
  assert.is(s.code, 0, show(s));
  const c = await cli(['config', 'commit', '-m', 'while r2 is down']);
  assert.is(c.code, 0, show(c));
  assert.match(c.stdout, 'r2 out of sync');
  const alarms = await cli(['conductor', 'show', 'alarms']);
  assert.match(alarms.stdout, /r2\/out-of-sync\s+major/);
  const log = restartNode('r2', 'back');
  await waitLog(log, /config\.activated version=6/, 'r2 activates version 6 when it is back');
  await bothOn(6);
  await webIs('200', 'traffic through the restarted r2');
});

test('the conductor killed: routers keep forwarding, also across a restart; the conductor restarted: they resynchronise', async () => {
  process.kill(pidOf('conductor'), 'SIGKILL');
  assert.is(await web(), '200', 'forwarding without the conductor');
  process.kill(pidOf('r1'), 'SIGTERM');
  await pollUntil('r1 stopped', 10_000, async () => ((await web()) === '000' ? true : undefined));
  const log = restartNode('r1', 'alone');
  await waitLog(log, /config\.restored version=6/, 'r1 restores version 6 from its store');
  await webIs('200', 'r1 forwards on its last committed config with no conductor');
  spawnIn(NS.conductor, conductorArgs(dir).slice(1), join(dir, 'conductor-again.log'));
  await waitLog(join(dir, 'conductor-again.log'), /conductor\.running/, 'the conductor restarted');
  await bothOn(6);
  assert.is(await web(), '200');
});

test.run();
