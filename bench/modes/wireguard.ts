/**
 * wireguard-go (userspace; there is no kernel WireGuard here) between r1 and r2, as in the anchors:
 * inner 198.19.1.1 <-> 198.19.1.2, client<->server routes pointed at the tunnel devices, default MTU 1420.
 */
import { execFileSync } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ipn, runIn, sleep, spawnIn, stop, type Proc } from '../exec.js';
import { CLIENT_NET, NS, R1_WAN, R2_WAN, SERVER_NET, setWanMtu } from '../topology.js';
import { ModeSkipped, type Mode, type ModeContext } from './mode.js';

const PORT = 51820;
const DEVS = { r1: 'svb-wg1', r2: 'svb-wg2' } as const;

function which(cmd: string): boolean {
  try {
    execFileSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

export class WireguardMode implements Mode {
  readonly id = 'wireguard-go';
  readonly label = 'wireguard-go';
  /** 1400 B + 28 = 1428 > MTU 1420 would fragment; the anchors used 1372 B as the fair comparison */
  readonly udpLarge = 1372;
  readonly notes: string[] = ['UDP "1400 B" runs at 1372 B (tunnel MTU 1420), as in the anchors'];
  private procs: Proc[] = [];

  async setup(ctx: ModeContext): Promise<void> {
    if (!which('wireguard-go') || !which('wg')) throw new ModeSkipped('wireguard-go or wg missing (apt-get install wireguard-go wireguard-tools)');
    this.notes.push(`${execFileSync('wireguard-go', ['--version'], { encoding: 'utf8' }).split('\n')[0]!.trim()}, userspace, default settings`);
    await setWanMtu(1500);
    const key = (r: 'r1' | 'r2') => {
      const priv = execFileSync('wg', ['genkey'], { encoding: 'utf8' }).trim();
      const pub = execFileSync('wg', ['pubkey'], { input: priv + '\n', encoding: 'utf8' }).trim();
      const file = join(ctx.dir, `wg-${r}.key`);
      writeFileSync(file, priv + '\n', { mode: 0o600 });
      return { file, pub };
    };
    const k = { r1: key('r1'), r2: key('r2') };
    const plan = [
      { r: 'r1' as const, inner: '198.19.1.1', peer: 'r2' as const, endpoint: R2_WAN, allowed: `${SERVER_NET},198.19.1.2/32`, route: SERVER_NET },
      { r: 'r2' as const, inner: '198.19.1.2', peer: 'r1' as const, endpoint: R1_WAN, allowed: `${CLIENT_NET},198.19.1.1/32`, route: CLIENT_NET },
    ];
    for (const x of plan) {
      const dev = DEVS[x.r];
      rmSync(`/var/run/wireguard/${dev}.sock`, { force: true });
      const p = spawnIn(NS[x.r], `wireguard-go-${x.r}`, 'wireguard-go', ['-f', dev], join(ctx.dir, `wireguard-${x.r}.log`));
      this.procs.push(p);
      const deadline = Date.now() + 10_000;
      for (;;) {
        const ok = await runIn(NS[x.r], 'wg', ['show', dev]).then(() => true, () => false);
        if (ok) break;
        if (p.exited || Date.now() > deadline) throw new Error(`wireguard-go did not create ${dev} in ${NS[x.r]}`);
        await sleep(100);
      }
      await runIn(NS[x.r], 'wg', ['set', dev, 'private-key', k[x.r].file, 'listen-port', String(PORT),
        'peer', k[x.peer].pub, 'endpoint', `${x.endpoint}:${PORT}`, 'allowed-ips', x.allowed]);
      await ipn(NS[x.r], ['addr', 'add', `${x.inner}/24`, 'dev', dev]);
      await ipn(NS[x.r], ['link', 'set', dev, 'up']);
      await ipn(NS[x.r], ['route', 'add', x.route, 'dev', dev]);
    }
  }

  async teardown(): Promise<void> {
    for (const p of this.procs) await stop(p);
    this.procs = [];
    for (const dev of Object.values(DEVS)) rmSync(`/var/run/wireguard/${dev}.sock`, { force: true });
  }

  routerProcs(): Proc[] {
    return this.procs;
  }
}
