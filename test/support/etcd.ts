/**
 * Real etcd members for tests (Debian etcd-server): each on loopback with its own ports and data dir in
 * a temp folder, started here, stopped by pid, the folder removed afterwards.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
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

async function healthy(m: EtcdMember, deadline: number): Promise<void> {
  while (Date.now() < deadline) {
    if (m.proc !== undefined && (m.proc.exitCode !== null || m.proc.signalCode !== null)) throw new Error(`etcd ${m.name} exited`);
    try {
      const res = await fetch(`${m.clientUrl}/health`, { signal: AbortSignal.timeout(1000) });
      const body = (await res.json()) as { health?: string };
      if (body.health === 'true') return;
    } catch {
      // not yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`etcd ${m.name} at ${m.clientUrl} did not become healthy in 30 s`);
}

const running = (m: EtcdMember): boolean => m.proc?.pid !== undefined && m.proc.exitCode === null && m.proc.signalCode === null;

async function stopAll(members: EtcdMember[], dir: string): Promise<void> {
  const exits = members.filter(running).map((m) => new Promise((r) => m.proc!.once('exit', r)));
  for (const m of members) if (running(m)) process.kill(m.proc!.pid!, 'SIGKILL');
  await Promise.all(exits);
  rmSync(dir, { recursive: true, force: true });
}

/**
 * One try at an n-member cluster on ports free a moment ago. Another process can take such a port before etcd binds
 * it ("address already in use"): then every member started is stopped by pid, the folder removed, and the caller tries
 * again on new ports.
 */
async function tryStart(n: number): Promise<{ cluster: EtcdCluster } | { error: string; portTaken: boolean }> {
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
    closeSync(log);
  }
  const deadline = Date.now() + 30_000;
  try {
    await Promise.all(members.map((m) => healthy(m, deadline)));
  } catch (err) {
    const logs = members.map((m) => `${m.name}: ${readFileSync(join(dir, `${m.name}.log`), 'utf8').trim().split('\n').at(-1) ?? ''}`);
    await stopAll(members, dir);
    return { error: `${(err as Error).message}; last log lines: ${logs.join(' | ')}`, portTaken: logs.some((l) => l.includes('address already in use')) };
  }
  return {
    cluster: {
      dir,
      members,
      endpoints: members.map((m) => m.clientUrl),
      kill: (i) => {
        const m = members[i]!;
        if (running(m)) process.kill(m.proc!.pid!, 'SIGKILL');
      },
      stop: () => stopAll(members, dir),
    },
  };
}

/** n etcd members forming one cluster; a port taken before etcd bound it is tried again (3 tries), never left running. */
export async function startEtcd(n = 3): Promise<EtcdCluster> {
  for (let attempt = 1; ; attempt++) {
    const r = await tryStart(n);
    if ('cluster' in r) return r.cluster;
    if (!r.portTaken || attempt === 3) throw new Error(`etcd cluster of ${n} did not start (try ${attempt}): ${r.error}`);
  }
}
