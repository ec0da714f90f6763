/**
 * wireguard-go (userspace; there is no kernel WireGuard here) between r1 and r2, as in the anchors:
 * inner 198.19.1.1 <-> 198.19.1.2, client<->server routes pointed at the tunnel devices, default MTU 1420.
 * Two builds: `wireguard-go` is the current one (commit 9eb3221, 2025: vectorised I/O, TUN TCP/UDP offloads,
 * UDP GSO/GRO), found at SVR_BENCH_WIREGUARD_GO or ../shared/bin/wireguard-go-2025 beside the project root;
 * `wireguard-go-2022` is Debian's package (v0.0.20220316). Both get the transmit queue svrouter's TUN devices
 * get (4096); everything else is wireguard-go's own default.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { ipn, logTail, runIn, sleep, spawnIn, stop, type Proc } from '../exec.js';
import { deviceTerms, offloadTerms, socketTerms } from '../terms.js';
import { CLIENT_NET, DEV, namePrefix, NS, R1_WAN, R2_WAN, SERVER_NET } from '../topology.js';
import { ModeSkipped, type Mode, type ModeContext } from './mode.js';
import type { ModeTerms } from '../terms.js';

const PORT = 51820;
/** what svrouter's TUN devices get (src/node/host-setup.ts) */
const TXQUEUELEN = 4096;

function which(cmd: string): string | undefined {
  try {
    return execFileSync('sh', ['-c', `command -v ${cmd}`], { encoding: 'utf8' }).trim() || undefined;
  } catch {
    return undefined;
  }
}

/** Where the current wireguard-go is looked for: SVR_BENCH_WIREGUARD_GO, then ../shared/bin/wireguard-go-2025 from `root`. */
export function currentWireguardGo(root: string): { path?: string; looked: string[] } {
  const env = process.env['SVR_BENCH_WIREGUARD_GO'];
  const candidates = [...(env !== undefined && env !== '' ? [resolve(env)] : []), resolve(root, '..', 'shared', 'bin', 'wireguard-go-2025')];
  const path = candidates.find((p) => existsSync(p));
  return path === undefined ? { looked: candidates } : { path, looked: candidates };
}

export class WireguardMode implements Mode {
  /** 1400 B + 28 = 1428 > MTU 1420 would fragment; the anchors used 1372 B as the fair comparison */
  readonly udpLarge = 1372;
  readonly notes: string[] = ['UDP "1400 B" runs at 1372 B (tunnel MTU 1420), as in the anchors'];
  terms?: ModeTerms;
  private procs: Proc[] = [];

  /**
   * `binary`: the wireguard-go to run (undefined: not found; `missing` says where it was looked for).
   * `id`/`label`: wireguard-go (current) or wireguard-go-2022 (Debian).
   */
  constructor(private readonly binary: string | undefined, readonly id: string, readonly label: string, private readonly missing: string) {}

  async setup(ctx: ModeContext): Promise<void> {
    if (this.binary === undefined) throw new ModeSkipped(this.missing);
    if (which('wg') === undefined) throw new ModeSkipped('wg missing (apt-get install wireguard-tools)');
    const version = execFileSync(this.binary, ['--version'], { encoding: 'utf8' }).split('\n')[0]!.trim();
    this.notes.push(`${version} (${this.binary}), userspace, wireguard-go's defaults except txqueuelen ${TXQUEUELEN} on its TUN (as svrouter's)`);
    const key = (r: 'r1' | 'r2') => {
      const priv = execFileSync('wg', ['genkey'], { encoding: 'utf8' }).trim();
      const pub = execFileSync('wg', ['pubkey'], { input: priv + '\n', encoding: 'utf8' }).trim();
      const file = join(ctx.dir, `${this.id}-${r}.key`);
      writeFileSync(file, priv + '\n', { mode: 0o600 });
      return { file, pub };
    };
    const k = { r1: key('r1'), r2: key('r2') };
    const devs = { r1: `${namePrefix()}-wg1`, r2: `${namePrefix()}-wg2` };
    const plan = [
      { r: 'r1' as const, inner: '198.19.1.1', peer: 'r2' as const, endpoint: R2_WAN, allowed: `${SERVER_NET},198.19.1.2/32`, route: SERVER_NET },
      { r: 'r2' as const, inner: '198.19.1.2', peer: 'r1' as const, endpoint: R1_WAN, allowed: `${CLIENT_NET},198.19.1.1/32`, route: CLIENT_NET },
    ];
    for (const x of plan) {
      const dev = devs[x.r];
      rmSync(uapiSocket(dev), { force: true });
      // verbose: its log says whether and when the handshake went (a round that loses its echo can be read)
      const p = spawnIn(NS[x.r], `${this.id}-${x.r}`, 'env', ['LOG_LEVEL=verbose', this.binary, '-f', dev], join(ctx.dir, `${this.id}-${x.r}.log`));
      this.procs.push(p);
      const deadline = Date.now() + 10_000;
      // `wg` only once the UAPI socket listens: wg unlinks a socket that refuses its connection (wireguard-tools,
      // "the process is gone"), and between wireguard-go's bind and listen it does; wireguard-go then exits
      // ("Failed to listen on uapi socket: no such file or directory", seen once in 23 set-ups at load 25)
      while (!uapiListening(p.pid, dev)) {
        if (p.exited || Date.now() > deadline) throw new Error(`${this.binary} did not create ${dev} in ${NS[x.r]}:\n${logTail(p)}`);
        await sleep(50);
      }
      await runIn(NS[x.r], 'wg', ['set', dev, 'private-key', k[x.r].file, 'listen-port', String(PORT),
        'peer', k[x.peer].pub, 'endpoint', `${x.endpoint}:${PORT}`, 'allowed-ips', x.allowed]);
      await ipn(NS[x.r], ['addr', 'add', `${x.inner}/24`, 'dev', dev]);
      await ipn(NS[x.r], ['link', 'set', dev, 'txqueuelen', String(TXQUEUELEN), 'up']);
      await ipn(NS[x.r], ['route', 'add', x.route, 'dev', dev]);
    }
    this.terms = {
      build: version.replace(/^wireguard-go /, 'wireguard-go '),
      devices: await deviceTerms(NS.r1, [devs.r1]),
      offloads: await offloadTerms(NS.r1, [devs.r1, DEV.r1Wan]),
      socketBuffers: await socketTerms(NS.r1, PORT),
      polling: 'none',
    };
  }

  async teardown(): Promise<void> {
    for (const p of this.procs) await stop(p);
    this.procs = [];
    for (const r of ['wg1', 'wg2']) rmSync(uapiSocket(`${namePrefix()}-${r}`), { force: true });
  }

  /** Each side's handshake and transfer (`wg show`), for an echo that did not come back. */
  async diagnose(): Promise<string> {
    const side = async (r: 'r1' | 'r2', dev: string): Promise<string> => {
      const p = this.procs.find((x) => x.name === `${this.id}-${r}`);
      if (p === undefined || p.exited) return `${r}: wireguard-go not running`;
      const shown = await runIn(NS[r], 'wg', ['show', dev, 'dump']).then((x) => x.stdout, (e: Error) => e.message);
      const peer = shown.trim().split('\n')[1]?.split('\t');
      return peer === undefined ? `${r}: ${shown.trim().split('\n')[0]}` : `${r}: last handshake ${peer[4] === '0' ? 'never' : `at ${peer[4]}`}, rx ${peer[5]} B, tx ${peer[6]} B`;
    };
    return (await Promise.all([side('r1', `${namePrefix()}-wg1`), side('r2', `${namePrefix()}-wg2`)])).join('; ');
  }

  routerProcs(): Proc[] {
    return this.procs;
  }
}

/** wireguard-go's UAPI socket of device `dev`. */
const uapiSocket = (dev: string): string => `/var/run/wireguard/${dev}.sock`;

/** Whether process `pid` (its network namespace's /proc/net/unix) has `dev`'s UAPI socket listening (flags __SO_ACCEPTCON). */
function uapiListening(pid: number, dev: string): boolean {
  try {
    const path = uapiSocket(dev);
    return readFileSync(`/proc/${pid}/net/unix`, 'utf8').split('\n').some((l) => l.endsWith(` ${path}`) && l.split(/\s+/)[3] === '00010000');
  } catch {
    return false;
  }
}

/** The Debian build on PATH, if any. */
export function debianWireguardGo(): string | undefined {
  return which('wireguard-go');
}
