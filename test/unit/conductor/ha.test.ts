/**
 * Conductor high availability on real etcd: three etcd members and two `svr conductor start` processes
 * sharing them, two managed routers that know both conductors. A stream of commits runs while the leader
 * is killed (SIGKILL): the standby leads within 10 s, every acknowledged version and its audit event is
 * there afterwards (no gap, none twice), and both routers follow the new leader to the last version.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as assert from 'uvu/assert';
import { stringify } from 'yaml';
import { isSvrError } from '../../../src/errors.js';
import { conductorRequest } from '../../../src/cli/conductor-client.js';
import { ConductorAgent } from '../../../src/conductor/agent/agent.js';
import { enrolRouter } from '../../../src/conductor/agent/enrol.js';
import { httpsJson } from '../../../src/conductor/agent/https.js';
import type { RouterStatus } from '../../../src/conductor/fleet.js';
import type { AuditEvent, VersionSummary } from '../../../src/conductor/store/authority-store.js';
import { requires } from '../../support/prerequisites.js';
import { freePort, startEtcd, type EtcdCluster } from '../../support/etcd.js';
import { MemoryAgentStore, RecordingHost } from '../../support/conductor.js';
import { waitFor } from '../../support/config.js';
import { baseAuthority } from '../model/helpers.js';

const test = requires(import.meta.url);
const SVR = fileURLToPath(new URL('../../../../bin/svr.js', import.meta.url));
const PASSWORD = 'ha-admin-pass';

let etcd: EtcdCluster;
let dir: string;
const conductors: Array<{ url: string; proc: ChildProcess; log: string }> = [];
const agents: ConductorAgent[] = [];
const hosts: RecordingHost[] = [];
let ca = '';
let token = '';

const urls = () => conductors.map((c) => c.url);
const call = <T>(method: string, path: string, body?: unknown) => conductorRequest<T>(urls(), ca, method, path, body, token);
const alive = (c: { proc: ChildProcess }) => c.proc.exitCode === null && c.proc.signalCode === null;

async function statusOf(url: string): Promise<{ role: string; version: number } | undefined> {
  return httpsJson<{ role: string; version: number }>(`${url}/api/v1/status`, 'GET', undefined, { ca, timeoutMs: 1000 }).catch(() => undefined);
}

async function leaderIndex(): Promise<number> {
  for (let i = 0; i < conductors.length; i++) if (alive(conductors[i]!) && (await statusOf(conductors[i]!.url))?.role === 'leader') return i;
  return -1;
}

test.before(async () => {
  etcd = await startEtcd(3);
  dir = mkdtempSync(join(tmpdir(), 'svr-ha-'));
  writeFileSync(join(dir, 'authority.yaml'), stringify({ authority: baseAuthority() }));
  writeFileSync(join(dir, 'password'), PASSWORD);
  const ports = [await freePort(), await freePort()];
  for (let i = 0; i < 2; i++) {
    const url = `https://127.0.0.1:${ports[i]}`;
    const log = join(dir, `c${i + 1}.log`);
    const proc = spawn(process.execPath, [SVR, 'conductor', 'start', '--config', join(dir, 'authority.yaml'), '--data-dir', join(dir, `c${i + 1}`),
      '--listen', `127.0.0.1:${ports[i]}`, '--peer', `https://127.0.0.1:${ports[1 - i]}`, '--etcd', etcd.endpoints.join(','), '--etcd-prefix', '/svr-ha/',
      '--admin-password-file', join(dir, 'password')], { stdio: ['ignore', openSync(log, 'a'), openSync(log, 'a')] });
    conductors.push({ url, proc, log });
  }
  await waitFor('both conductors running', () => conductors.every((c) => /conductor\.running/.test(readFileSync(c.log, 'utf8'))), 20_000);
  ca = readFileSync(join(dir, 'c1', 'ca.pem'), 'utf8');
  assert.is(readFileSync(join(dir, 'c2', 'ca.pem'), 'utf8'), ca, 'one CA for both conductors (kept in etcd)');
  await waitFor('a leader', async () => (await leaderIndex()) >= 0, 15_000);
  token = (await call<{ token: string }>('POST', '/api/v1/login', { user: 'admin', password: PASSWORD })).token;
  for (const asset of ['r1', 'r2']) {
    const t = (await call<{ token: string }>('POST', '/api/v1/tokens', { assetId: asset })).token;
    const store = new MemoryAgentStore();
    const creds = await enrolRouter(store, { assetId: asset, conductors: urls(), token: t, log: () => undefined });
    const host = new RecordingHost();
    const agent = new ConductorAgent(store, creds, host, () => undefined);
    await agent.start();
    agents.push(agent);
    hosts.push(host);
  }
});

test.after(async () => {
  for (const a of agents) await a.stop();
  for (const c of conductors) if (alive(c)) c.proc.kill('SIGTERM');
  await Promise.all(conductors.map((c) => (alive(c) ? new Promise((r) => c.proc.once('exit', r)) : undefined)));
  await etcd?.stop();
  if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
});

async function synchronizedOn(version: number): Promise<boolean> {
  const rows = await call<RouterStatus[]>('GET', '/api/v1/routers').catch(() => []);
  return rows.length === 2 && rows.every((r) => r.status === 'synchronized' && r.version === version);
}

/** One commit of the stream, retried through a failover; resolves with the version it landed as. */
async function commit(i: number): Promise<number> {
  const message = `stream commit ${i}`;
  for (;;) {
    try {
      const cand = await call<{ base: number }>('GET', '/api/v1/config/candidate');
      await call('PATCH', '/api/v1/config/candidate', { set: 'services[web].addresses', value: [`10.${100 + i}.0.0/16`] });
      return (await call<{ version: number }>('POST', '/api/v1/config/commit', { message, basedOn: cand.base })).version;
    } catch (e) {
      // an answer lost with the leader: did it land?
      const landed = (await call<VersionSummary[]>('GET', '/api/v1/config/versions').catch(() => [])).find((v) => v.message === message);
      if (landed !== undefined) return landed.version;
      if (!isSvrError(e) || !['SVR_ERR_CONDUCTOR_CONNECT', 'SVR_ERR_CONDUCTOR_STANDBY', 'SVR_ERR_CONDUCTOR_CONFLICT', 'SVR_ERR_CONDUCTOR_NO_CHANGE', 'SVR_ERR_CONDUCTOR_REQUEST', 'SVR_ERR_CONDUCTOR_STORE'].includes(e.code)) throw e;
      await new Promise((r) => setTimeout(r, 200));
    }
  }
}

test('both routers enrolled through the leader and synchronized on version 1', async () => {
  await waitFor('r1 and r2 on version 1', () => synchronizedOn(1), 15_000);
  assert.equal(hosts.map((h) => h.activated.map((a) => a.version)), [[1], [1]]);
});

test('kill the leader during a commit stream: the standby leads within 10 s; no version or audit event lost; routers follow', async () => {
  const leader = await leaderIndex();
  const acked: Array<{ i: number; version: number }> = [];
  let killedAt = 0;
  for (let i = 1; i <= 12; i++) {
    if (i === 5) {
      conductors[leader]!.proc.kill('SIGKILL');
      killedAt = Date.now();
    }
    acked.push({ i, version: await commit(i) });
  }
  const standby = 1 - leader;
  const st = await statusOf(conductors[standby]!.url);
  assert.is(st?.role, 'leader', 'the standby leads');
  const takeover = /(\S+) conductor leader\.elected/.exec(readFileSync(conductors[standby]!.log, 'utf8').split('\n').filter((l) => l.includes('leader.elected')).at(-1) ?? '');
  const tookMs = Date.parse(takeover![1]!) - killedAt;
  assert.ok(tookMs < 10_000, `the standby was elected ${tookMs} ms after the kill`);
  console.log(`  standby elected ${tookMs} ms after SIGKILL of the leader; ${acked.length} commits acknowledged`);

  const versions = await call<VersionSummary[]>('GET', '/api/v1/config/versions');
  assert.equal(versions.map((v) => v.version), Array.from({ length: versions.length }, (_, k) => k + 1), 'versions 1..N, no gap');
  for (const a of acked) assert.is(versions.find((v) => v.version === a.version)?.message, `stream commit ${a.i}`, `acknowledged version ${a.version} is stored`);
  assert.equal(acked.map((a) => a.version), acked.map((a) => a.version).sort((x, y) => x - y), 'in order');
  const audit = await call<AuditEvent[]>('GET', '/api/v1/audit');
  assert.equal(audit.map((e) => e.seq), Array.from({ length: audit.length }, (_, k) => k + 1), 'audit sequence without a gap');
  const commits = audit.filter((e) => e.action === 'config.commit' && e.result === 'ok').map((e) => e.version);
  assert.equal(commits, versions.map((v) => v.version), 'one commit event per version, none lost, none twice');
  const last = versions.at(-1)!.version;
  await waitFor(`both routers on version ${last} through the new leader`, () => synchronizedOn(last), 20_000);
  for (const h of hosts) assert.is(h.activated.at(-1)!.version, last);
});

test.run();
