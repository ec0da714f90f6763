/**
 * Link configuration for TUN devices through ip(8): the addon only opens queues, everything else
 * (up, MTU, addresses, routes) is plain `ip` commands run with execFile (no shell).
 */
import { execFile } from 'node:child_process';
import { SvrError } from '../../errors.js';

export interface IpOptions {
  /** Run inside this network namespace (`ip -n NS ...`). */
  netns?: string;
  /** Milliseconds before the command is killed (default 10 000). */
  timeoutMs?: number;
}

/** Runs `ip [-n NS] ...args`; resolves with stdout, rejects with SVR_ERR_IO_TUN_LINK naming the command. */
export function runIp(args: readonly string[], opts: IpOptions = {}): Promise<string> {
  const full = opts.netns ? ['-n', opts.netns, ...args] : [...args];
  const command = `ip ${full.join(' ')}`;
  return new Promise((resolve, reject) => {
    execFile('ip', full, { timeout: opts.timeoutMs ?? 10_000, encoding: 'utf8' }, (err, stdout, stderr) => {
      if (!err) {
        resolve(stdout);
        return;
      }
      const why = stderr.trim() || err.message;
      reject(new SvrError('SVR_ERR_IO_TUN_LINK', `\`${command}\` failed: ${why}`, { command, args: full, stderr }));
    });
  });
}

/**
 * Runs several `ip` commands in one process (`ip -batch -`, one command a line): a router pair's role change
 * is one process instead of one per device, route and address (each a process start: 50-200 ms on a loaded
 * host). Stops at the first command that fails; rejects with SVR_ERR_IO_TUN_LINK naming the commands.
 */
export function runIpBatch(commands: readonly (readonly string[])[], opts: IpOptions = {}): Promise<void> {
  if (commands.length === 0) return Promise.resolve();
  for (const c of commands) {
    if (c.some((a) => a === '' || /\s|"|'|\\/.test(a))) return Promise.reject(new SvrError('SVR_ERR_IO_TUN_LINK', `ip -batch: an argument of \`ip ${c.join(' ')}\` is empty or has white space or quotes`));
  }
  const full = [...(opts.netns ? ['-n', opts.netns] : []), '-batch', '-'];
  const script = commands.map((c) => c.join(' ')).join('\n');
  return new Promise((resolve, reject) => {
    const child = execFile('ip', full, { timeout: opts.timeoutMs ?? 10_000, encoding: 'utf8' }, (err, _stdout, stderr) => {
      if (!err) {
        resolve();
        return;
      }
      const why = stderr.trim() || err.message;
      reject(new SvrError('SVR_ERR_IO_TUN_LINK', `\`ip ${full.join(' ')}\` failed: ${why} (commands: ${commands.map((c) => c.join(' ')).join('; ')})`, { command: `ip ${full.join(' ')}`, args: full, stderr }));
    });
    child.stdin?.end(`${script}\n`);
  });
}

export interface LinkSetup {
  mtu?: number;
  txQueueLen?: number;
  /** CIDR addresses, e.g. '198.18.250.1/30'. */
  addresses?: readonly string[];
  /** Prefixes routed into the device, e.g. '198.18.251.0/24'. */
  routes?: readonly string[];
  /** Bring the link up (default true). */
  up?: boolean;
}

/** `ip link set dev X [mtu N] [txqueuelen N] up`, then `ip addr add` and `ip route add` for each entry. */
export async function configureLink(dev: string, setup: LinkSetup, opts: IpOptions = {}): Promise<void> {
  const link = ['link', 'set', 'dev', dev];
  if (setup.mtu !== undefined) link.push('mtu', String(setup.mtu));
  if (setup.txQueueLen !== undefined) link.push('txqueuelen', String(setup.txQueueLen));
  if (setup.up !== false) link.push('up');
  if (link.length > 4) await runIp(link, opts);
  for (const a of setup.addresses ?? []) await runIp(['addr', 'add', a, 'dev', dev], opts);
  for (const r of setup.routes ?? []) await runIp(['route', 'add', r, 'dev', dev], opts);
}
