/**
 * Real etcd members for tests (Debian etcd-server): each on loopback with its own ports and data dir in
 * a temp folder, started here, stopped by pid, the folder removed afterwards.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, openSync, rmSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface EtcdMember {
  name: string;
  clientUrl: string;
  peerUrl: string;
  proc: ChildProcess | undefined;
}

export interface EtcdCluster {
  dir: string;
  members: EtcdMember[];
  endpoints: string[];
  /** SIGKILL member i (by its pid) */
  kill(i: number): void;
  stop(): Promise<void>;
}

/** A TCP port free on 127.0.0.1 right now. */
export async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

async function healthy(url: string, deadline: number): Promise<void> {
  while (Date.now() < deadline) {
    try {
      const res = await fetch(`${url}/health`, { signal: AbortSignal.timeout(1000) });
      const body = (await res.json()) as { health?: string };
      if (body.health === 'true') return;
    } catch {
      // not yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`etcd at ${url} did not become healthy`);
}

export async function startEtcd(n = 3): Promise<EtcdCluster> {
  const dir = mkdtempSync(join(tmpdir(), 'svr-etcd-'));
  const members: EtcdMember[] = [];
  for (let i = 1; i <= n; i++) {
    members.push({ name: `e${i}`, clientUrl: `http://127.0.0.1:${await freePort()}`, peerUrl: `http://127.0.0.1:${await freePort()}`, proc: undefined });
  }
  const cluster = members.map((m) => `${m.name}=${m.peerUrl}`).join(',');
  for (const m of members) {
    const log = openSync(join(dir, `${m.name}.log`), 'a');
    m.proc = spawn('etcd', [
      '--name', m.name, '--data-dir', join(dir, m.name),
      '--listen-client-urls', m.clientUrl, '--advertise-client-urls', m.clientUrl,
      '--listen-peer-urls', m.peerUrl, '--initial-advertise-peer-urls', m.peerUrl,
      '--initial-cluster', cluster, '--initial-cluster-state', 'new', '--initial-cluster-token', `svr-test-${process.pid}`,
      '--heartbeat-interval', '100', '--election-timeout', '1000',
    ], { stdio: ['ignore', log, log] });
  }
  const deadline = Date.now() + 30_000;
  await Promise.all(members.map((m) => healthy(m.clientUrl, deadline)));
  const stopOne = (m: EtcdMember) => {
    if (m.proc?.pid !== undefined && m.proc.exitCode === null && m.proc.signalCode === null) process.kill(m.proc.pid, 'SIGKILL');
  };
  return {
    dir,
    members,
    endpoints: members.map((m) => m.clientUrl),
    kill: (i) => stopOne(members[i]!),
    async stop() {
      for (const m of members) stopOne(m);
      await Promise.all(members.map((m) => (m.proc === undefined || m.proc.exitCode !== null || m.proc.signalCode !== null ? undefined : new Promise((r) => m.proc!.once('exit', r)))));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
