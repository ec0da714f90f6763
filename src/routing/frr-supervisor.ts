/**
 * FRR's daemons as the node's child processes, in the node's namespace (docs/routing.md): each started
 * with its config, pid file, zebra API socket and vty sockets in the node's FRR folder (never /etc/frr),
 * supervised (an exit is counted, reported and followed by a restart after a back-off that doubles from
 * 1 s to 30 s, reset after a minute up) and stopped with the node (SIGTERM by pid, SIGKILL after 3 s).
 * zebra goes first: bgpd and bfdd connect to its API socket.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { chownSync, closeSync, existsSync, mkdirSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { userInfo } from 'node:os';
import { join } from 'node:path';
import { SvrError } from '../errors.js';

export type FrrDaemon = 'zebra' | 'bfdd' | 'bgpd';

export const FRR_BIN_DIR = process.env['SVR_FRR_DIR'] ?? '/usr/lib/frr';
const BACKOFF_MIN_MS = 1000;
const BACKOFF_MAX_MS = 30000;
const STABLE_MS = 60000;

export interface DaemonView {
  daemon: FrrDaemon;
  pid: number | undefined;
  running: boolean;
  restarts: number;
  lastExit?: string;
}

export interface FrrSupervisorOptions {
  dir: string;
  daemons: readonly FrrDaemon[];
  /** the files to write before starting (name -> text) */
  files: Readonly<Record<string, string>>;
  /** a daemon exited (restart: true when it will be started again) */
  onExit?: (daemon: FrrDaemon, why: string, restart: boolean) => void;
  /** a daemon was started again after an exit */
  onRestart?: (daemon: FrrDaemon, restarts: number) => void;
}

interface Slot {
  daemon: FrrDaemon;
  child: ChildProcess | undefined;
  restarts: number;
  backoffMs: number;
  startedAt: number;
  timer: NodeJS.Timeout | undefined;
  lastExit?: string;
}

export class FrrSupervisor {
  readonly #o: FrrSupervisorOptions;
  readonly #slots: Slot[];
  #stopping = false;
  #owner: { uid: number; gid: number; user: string } | undefined;

  constructor(o: FrrSupervisorOptions) {
    this.#o = o;
    this.#slots = o.daemons.map((daemon) => ({ daemon, child: undefined, restarts: 0, backoffMs: BACKOFF_MIN_MS, startedAt: 0, timer: undefined }));
  }

  get dir(): string {
    return this.#o.dir;
  }

  /** The vty socket folder (`vtysh --vty_socket`). */
  get vtyDir(): string {
    return this.#o.dir;
  }

  async start(): Promise<void> {
    const dir = this.#o.dir;
    for (const d of this.#o.daemons) {
      const bin = join(FRR_BIN_DIR, d);
      if (!existsSync(bin)) throw new SvrError('SVR_ERR_ROUTING_FRR', `${bin} is missing: install the Debian package frr (or set SVR_FRR_DIR to its daemons' folder)`);
    }
    mkdirSync(dir, { recursive: true });
    this.#owner = frrUser();
    for (const [name, text] of Object.entries(this.#o.files)) writeFileSync(join(dir, name), text);
    // the daemons drop to the frr user: it must write its logs, pid files and sockets here
    if (this.#owner !== undefined) for (const name of ['', ...Object.keys(this.#o.files)]) chownSync(join(dir, name), this.#owner.uid, this.#owner.gid);
    for (const slot of this.#slots) {
      this.#spawn(slot);
      if (slot.daemon === 'zebra') await waitFor(() => existsSync(join(dir, 'zserv.api')), 5000, 'zebra did not open its API socket', join(dir, 'zebra.out'));
    }
  }

  /** Writes one file again (a changed config) in the FRR folder. */
  writeFile(name: string, text: string): void {
    const path = join(this.#o.dir, name);
    writeFileSync(path, text);
    if (this.#owner !== undefined) chownSync(path, this.#owner.uid, this.#owner.gid);
  }

  views(): DaemonView[] {
    return this.#slots.map((s) => ({
      daemon: s.daemon, pid: s.child?.pid, running: s.child !== undefined && s.child.exitCode === null && s.child.signalCode === null, restarts: s.restarts,
      ...(s.lastExit !== undefined ? { lastExit: s.lastExit } : {}),
    }));
  }

  async stop(): Promise<void> {
    this.#stopping = true;
    for (const slot of [...this.#slots].reverse()) {
      clearTimeout(slot.timer);
      const child = slot.child;
      if (child === undefined || child.exitCode !== null || child.signalCode !== null) continue;
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      child.kill('SIGTERM');
      const killer = setTimeout(() => child.kill('SIGKILL'), 3000);
      await exited;
      clearTimeout(killer);
    }
  }

  #spawn(slot: Slot): void {
    const dir = this.#o.dir;
    const d = slot.daemon;
    const args = [
      '-f', join(dir, `${d}.conf`), '-i', join(dir, `${d}.pid`), '-z', join(dir, 'zserv.api'), '--vty_socket', dir,
      ...(this.#owner !== undefined ? ['-u', this.#owner.user, '-g', this.#owner.user] : []),
      ...(d === 'zebra' ? ['-M', 'dplane_fpm_nl'] : d === 'bfdd' ? ['--bfdctl', join(dir, 'bfdd.sock')] : []),
    ];
    const out = openSync(join(dir, `${d}.out`), 'a');
    const child = spawn(join(FRR_BIN_DIR, d), args, { stdio: ['ignore', out, out] });
    closeSync(out);
    slot.child = child;
    slot.startedAt = Date.now();
    child.on('error', () => {}); // 'exit' follows (a missing binary was checked at start)
    child.on('exit', (code, sig) => {
      if (slot.child !== child) return;
      const why = sig !== null ? `killed by ${sig}` : `exited with code ${code}`;
      slot.lastExit = why;
      if (this.#stopping) return;
      if (Date.now() - slot.startedAt > STABLE_MS) slot.backoffMs = BACKOFF_MIN_MS;
      slot.restarts++;
      this.#o.onExit?.(d, why, true);
      slot.timer = setTimeout(() => {
        if (this.#stopping) return;
        this.#spawn(slot);
        this.#o.onRestart?.(d, slot.restarts);
      }, slot.backoffMs);
      slot.backoffMs = Math.min(BACKOFF_MAX_MS, slot.backoffMs * 2);
    });
  }
}

/** The frr user the daemons drop to (Debian's package makes it); undefined when running as another user. */
function frrUser(): { uid: number; gid: number; user: string } | undefined {
  if (userInfo().uid !== 0) return undefined;
  try {
    const passwd = readFileSync('/etc/passwd', 'utf8');
    const line = passwd.split('\n').find((l) => l.startsWith('frr:'));
    if (line === undefined) return undefined;
    const [, , uid, gid] = line.split(':');
    return { uid: Number(uid), gid: Number(gid), user: 'frr' };
  } catch {
    return undefined;
  }
}

async function waitFor(check: () => boolean, ms: number, what: string, log: string): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new SvrError('SVR_ERR_ROUTING_FRR', `${what} within ${ms / 1000} s (see ${log})`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
