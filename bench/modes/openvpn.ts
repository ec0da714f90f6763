/**
 * OpenVPN 2.6 between r1 and r2, as in the anchors: UDP, AES-256-GCM, userspace (--disable-dco), p2p TLS
 * with self-signed EC certificates checked by --peer-fingerprint; inner 198.19.0.1 <-> 198.19.0.2,
 * client<->server routes pointed at the tunnel devices. Defaults otherwise (untuned, like the anchors);
 * `openvpn-tuned` adds 4 MB socket buffers and a 4096-packet tun queue (what svrouter's TUN devices get).
 */
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { ipn, logText, run, spawnIn, stop, waitForLine, type Proc } from '../exec.js';
import { deviceTerms, offloadTerms, socketTerms, type ModeTerms } from '../terms.js';
import { CLIENT_NET, DEV, namePrefix, NS, R1_WAN, R2_WAN, SERVER_NET } from '../topology.js';
import { ModeSkipped, type Mode, type ModeContext } from './mode.js';

const PORT = 1194;

export class OpenvpnMode implements Mode {
  readonly id: string;
  readonly label: string;
  readonly udpLarge = 1400;
  readonly notes: string[] = [];
  terms?: ModeTerms;
  private procs: Proc[] = [];

  /** `extraArgs` go to both openvpn processes (the `openvpn` mode runs defaults, like the anchors). */
  constructor(private readonly extraArgs: readonly string[] = [], id = 'openvpn', label = 'OpenVPN') {
    this.id = id;
    this.label = label;
    if (extraArgs.length > 0) this.notes.push(`extra options: ${extraArgs.join(' ')}`);
  }

  async setup(ctx: ModeContext): Promise<void> {
    let version: string;
    try {
      version = execFileSync('openvpn', ['--version'], { encoding: 'utf8' }).split('\n')[0]!;
    } catch (e) {
      // openvpn --version exits 1 on some builds but still prints
      const out = (e as { stdout?: string }).stdout ?? '';
      if (!out.includes('OpenVPN')) throw new ModeSkipped('openvpn missing (apt-get install openvpn)');
      version = out.split('\n')[0]!;
    }
    this.notes.push(version.split(' ').slice(0, 2).join(' ') + ', UDP, AES-256-GCM, p2p TLS (peer-fingerprint), userspace (--disable-dco)');
    const cert = async (r: 'r1' | 'r2') => {
      const key = join(ctx.dir, `${this.id}-${r}.key`);
      const crt = join(ctx.dir, `${this.id}-${r}.crt`);
      await run('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
        '-keyout', key, '-out', crt, '-days', '2', '-subj', `/CN=${namePrefix()}-${r}`]);
      const { stdout } = await run('openssl', ['x509', '-in', crt, '-noout', '-fingerprint', '-sha256']);
      return { key, crt, fp: stdout.trim().split('=')[1]! };
    };
    const c = { r1: await cert('r1'), r2: await cert('r2') };
    const devs = { r1: `${namePrefix()}-ovpn1`, r2: `${namePrefix()}-ovpn2` };
    const plan = [
      { r: 'r1' as const, peer: 'r2' as const, tls: '--tls-server', local: R1_WAN, remote: R2_WAN, inner: ['198.19.0.1', '198.19.0.2'], route: SERVER_NET },
      { r: 'r2' as const, peer: 'r1' as const, tls: '--tls-client', local: R2_WAN, remote: R1_WAN, inner: ['198.19.0.2', '198.19.0.1'], route: CLIENT_NET },
    ];
    for (const x of plan) {
      const args = ['--dev', devs[x.r], '--dev-type', 'tun', '--proto', 'udp', '--local', x.local, '--lport', String(PORT),
        '--remote', x.remote, String(PORT), '--ifconfig', x.inner[0]!, x.inner[1]!, x.tls, '--dh', 'none',
        '--cert', c[x.r].crt, '--key', c[x.r].key, '--peer-fingerprint', c[x.peer].fp,
        '--data-ciphers', 'AES-256-GCM', '--disable-dco', '--verb', '3', ...this.extraArgs];
      this.procs.push(spawnIn(NS[x.r], `openvpn-${x.r}`, 'openvpn', args, join(ctx.dir, `${this.id}-${x.r}.log`)));
    }
    for (const p of this.procs) await waitForLine(p, /Initialization Sequence Completed/, 30_000);
    const cipher = /Data Channel: cipher '([^']+)'/.exec(logText(this.procs[0]!))?.[1];
    if (cipher !== undefined) this.notes.push(`negotiated data channel cipher: ${cipher}`);
    for (const x of plan) await ipn(NS[x.r], ['route', 'add', x.route, 'dev', devs[x.r]]);
    this.terms = {
      build: version.split(' ').slice(0, 2).join(' '), devices: await deviceTerms(NS.r1, [devs.r1]), offloads: await offloadTerms(NS.r1, [devs.r1, DEV.r1Wan]),
      socketBuffers: await socketTerms(NS.r1, PORT), polling: 'none',
    };
  }

  async teardown(): Promise<void> {
    for (const p of this.procs) await stop(p);
    this.procs = [];
  }

  routerProcs(): Proc[] {
    return this.procs;
  }
}
