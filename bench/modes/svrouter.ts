/**
 * svrouter: `node bin/svr.js node start` in r1 and r2 (docs/real-hosts.md): the wan veth and the wan interface
 * at MTU 1500 like every mode (TCP fits through MSS clamping, `enforced-mss: automatic`), the peer's waypoint
 * routed over the veth, and the other side's LAN routed into the node's lan TUN in the main table (`kernel-routes`,
 * as the tunnel modes route it into their devices; no `ip rule`, bench/svr-config.ts). Nodes run with
 * `--busy-poll 0` (the headline); `withBusyPoll` restarts them with the node's default busy polling for the RTT
 * row that shows the option. Variants: HMAC only (default policy), `encrypt: true` on the service, and the latter
 * with the path keys from the key exchange (`key-exchange: handshake`, fresh identities per run): a node that
 * starts waits for the handshake (keys on both routers) and its path up before it counts as started; and `encrypt: true` with `udp-transform: always-transform` on the
 * wan neighborhood (svrouter-enc-udp): TCP sessions travel as UDP between the routers, as a tunnel carries them,
 * so that full-size segments of a stream are equal-length datagrams of one 5-tuple that the wan TUN writes as
 * UDP GSO super-packets (docs/tun-io.md).
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ipn, logTail, logText, run, sleep, spawnIn, stop, waitForLine, type Proc } from '../exec.js';
import { CLIENT_NET, DEV, NS, R1_WAN, R2_WAN, SERVER_NET } from '../topology.js';
import { deviceTerms, offloadTerms, type ModeTerms } from '../terms.js';
import { LAN_TABLE, svrConfigYaml, WAN_INTERFACE_MTU, WAYPOINT_R1, WAYPOINT_R2 } from '../svr-config.js';
import { ModeSkipped, type Mode, type ModeContext } from './mode.js';
import { BUSY_POLL_DEFAULT_US } from '../../src/io/tun/busy-poll.js';
import { generateKeyPair, privateKeyBytes } from '../../src/crypto/noise.js';
import { request } from '../../src/node/control-client.js';
import type { ShowWhat } from '../../src/node/control-protocol.js';

/** bin/svr.js of the build being measured (default: this tree's; this file is dist/bench/modes/svrouter.js). */
let SVR_SCRIPT = fileURLToPath(new URL('../../../bin/svr.js', import.meta.url));

/** Runs the nodes and `svr show` from another copy of the build (see snapshot.ts). */
export function useSvrScript(path: string): void {
  SVR_SCRIPT = path;
  dataDirOption = undefined;
}

/** bin/svr.js of the build being measured (the hub case starts its own node). */
export function svrScript(): string {
  return SVR_SCRIPT;
}

export type RouterName = 'r1' | 'r2';

/** How long a started node may take to agree keys with the other and have its path up (key-exchange: handshake). */
const HANDSHAKE_READY_MS = 30_000;

/** The node flags of the headline measurements: no busy polling (the node's default is BUSY_POLL_DEFAULT_US). */
export const HEADLINE_NODE_ARGS: readonly string[] = ['--busy-poll', '0'];
/** The busy-polling option, measured for the RTT only. */
export const BUSY_POLL_NODE_ARGS: readonly string[] = ['--busy-poll', String(BUSY_POLL_DEFAULT_US)];

let dataDirOption: Promise<boolean> | undefined;
/** Whether this build's `svr node start` has --data-dir (builds with a LevelDB state store). */
function supportsDataDir(): Promise<boolean> {
  dataDirOption ??= run(process.execPath, [SVR_SCRIPT, 'node', 'start', '--help']).then((r) => r.stdout.includes('--data-dir'), () => false);
  return dataDirOption;
}

/** How long a node may take to log node.running: ~2 s on a quiet machine; 20 s failed the svrouter mode's setup
 *  in 2 of 5 runs at load 24-30 (2026-12-05), and the wait ends at the line, so a longer bound costs a quiet run nothing. */
const NODE_START_MS = 60_000;

export class SvrouterMode implements Mode {
  readonly id: string;
  readonly label: string;
  readonly udpLarge = 1400;
  readonly notes: string[] = [];
  terms?: ModeTerms;
  private procs: Partial<Record<RouterName, Proc>> = {};
  private dir = '';
  private configPath = '';
  private aloneConfigPath = '';

  /**
   * `handshake`: the path keys come from the key exchange (only with encrypt, the svrouter-enc-hs mode);
   * `tcpAsUdp`: udp-transform always-transform (only with encrypt and static keys, the svrouter-enc-udp mode)
   */
  constructor(readonly encrypt: boolean, private readonly cipher?: string, readonly keys: 'static' | 'handshake' = 'static', readonly tcpAsUdp = false) {
    this.id = !encrypt ? 'svrouter' : keys === 'handshake' ? 'svrouter-enc-hs' : tcpAsUdp ? 'svrouter-enc-udp' : 'svrouter-enc';
    this.label = !encrypt ? 'svrouter hmac only' : keys === 'handshake' ? 'svrouter encrypted, handshake keys' : tcpAsUdp ? 'svrouter encrypted, TCP as UDP' : 'svrouter encrypted';
  }

  socket(r: RouterName): string {
    return join(this.dir, `${r}.sock`);
  }

  async setup(ctx: ModeContext): Promise<void> {
    this.dir = join(ctx.dir, this.id);
    mkdirSync(join(this.dir, 'run'), { recursive: true });
    this.configPath = join(this.dir, 'authority.yaml');
    const secret = randomBytes(32).toString('hex');
    const handshake = this.keys === 'handshake' ? { handshake: { r1: this.identity('r1'), r2: this.identity('r2') } } : {};
    const transform = this.tcpAsUdp ? { udpTransform: 'always-transform' as const } : {};
    writeFileSync(this.configPath, svrConfigYaml({ encrypt: this.encrypt, secret, ...(this.cipher !== undefined ? { cipher: this.cipher } : {}), ...handshake, ...transform }));
    this.aloneConfigPath = join(this.dir, 'authority-r1-alone.yaml');
    writeFileSync(this.aloneConfigPath, svrConfigYaml({ encrypt: this.encrypt, secret, r1Local: true, ...transform })); // for aloneR1
    await ipn(NS.r1, ['route', 'add', `${WAYPOINT_R2}/32`, 'via', R2_WAN, 'dev', DEV.r1Wan]);
    await ipn(NS.r2, ['route', 'add', `${WAYPOINT_R1}/32`, 'via', R1_WAN, 'dev', DEV.r2Wan]);
    try {
      await this.start('r1', []);
      await this.start('r2', []);
    } catch (e) {
      const msg = (e as Error).message;
      if (this.encrypt && /SVR_ERR_CONFIG|encrypt/i.test(msg)) throw new ModeSkipped(`the config with encrypt: true was refused: ${msg.split('\n')[0]}`);
      throw e;
    }
    this.notes.push(`nodes run with ${HEADLINE_NODE_ARGS.join(' ')}; the busy-polling rows restart them with ${BUSY_POLL_NODE_ARGS.join(' ')} (the node's default, docs/tun-io.md)`);
    if (this.encrypt) this.notes.push(`security policy on the service: encrypt: true, encryption-cipher ${await this.runningCipher()}`);
    if (this.tcpAsUdp) this.notes.push('udp-transform: always-transform on the wan neighborhood: TCP sessions travel as UDP between the routers (docs/wan.md "UDP transform")');
    if (this.keys === 'handshake') this.notes.push('path keys from the key exchange: key-exchange: handshake on the wan interfaces\' policy (Noise IKpsk2, X25519), rekey-interval 120 s (the default); a node restarted during the run (busy-polling rows, profiles) waits for its handshake');
    const tuns = ['svr-lan0', 'svr-wan0'];
    this.terms = {
      build: `svrouter (node ${process.version}), wan interface mtu ${WAN_INTERFACE_MTU}, enforced-mss automatic`,
      devices: await deviceTerms(NS.r1, tuns),
      offloads: await offloadTerms(NS.r1, [...tuns, DEV.r1Wan]),
      socketBuffers: 'n/a (TUN devices on both sides; the wan TUN\'s single packets go out through a raw IP socket onto the veth, UDP GSO runs through the TUN, which the kernel forwards)',
      polling: `${HEADLINE_NODE_ARGS.join(' ')} (busy-polling rows: ${BUSY_POLL_NODE_ARGS.join(' ')})`,
    };
  }

  /** A fresh identity for router r: its private key file in this mode's directory, its public key (base64). */
  private identity(r: RouterName): { publicKey: string; privateKeyFile: string } {
    const k = generateKeyPair();
    const privateKeyFile = join(this.dir, `${r}-identity.key`);
    writeFileSync(privateKeyFile, `${Buffer.from(privateKeyBytes(k)).toString('base64')}\n`, { mode: 0o600 });
    return { publicKey: Buffer.from(k.publicKey).toString('base64'), privateKeyFile };
  }

  /** `svr show <what> --json` of router r. */
  private async showJson<T>(r: RouterName, what: string): Promise<T> {
    const { stdout } = await run(process.execPath, [SVR_SCRIPT, 'show', what, '--json', '--socket', this.socket(r)]);
    return JSON.parse(stdout) as T;
  }

  /** key-exchange: handshake, both nodes running: waits until both have a tx key and every path is up. */
  private async handshakeReady(): Promise<void> {
    const until = Date.now() + HANDSHAKE_READY_MS;
    let last = '';
    for (;;) {
      try {
        const states = await Promise.all((['r1', 'r2'] as const).map(async (r) => {
          const sec = await this.showJson<{ paths: { tx?: unknown }[] }>(r, 'security');
          const peers = await this.showJson<{ paths: { up: boolean }[] }[]>(r, 'peers');
          return sec.paths.every((p) => p.tx !== undefined) && peers.every((p) => p.paths.every((x) => x.up));
        }));
        if (states.every((x) => x)) return;
        last = `keys and paths up: r1 ${states[0]}, r2 ${states[1]}`;
      } catch (e) {
        last = (e as Error).message.split('\n')[0]!;
      }
      if (Date.now() > until) throw new Error(`key-exchange: handshake: no keys or path up within ${HANDSHAKE_READY_MS} ms (${last})`);
      await new Promise((res) => setTimeout(res, 250));
    }
  }

  /** The payload policy's cipher as the running node reports it (`svr show config --json`). */
  private async runningCipher(): Promise<string> {
    try {
      const { stdout } = await run(process.execPath, [SVR_SCRIPT, 'show', 'config', '--json', '--socket', this.socket('r1')]);
      const doc = JSON.parse(stdout) as { authority?: { 'security-policies'?: { name: string; 'encryption-cipher'?: string }[] } };
      return doc.authority?.['security-policies']?.find((p) => p.name === 'payload')?.['encryption-cipher'] ?? '(not shown)';
    } catch {
      return this.cipher ?? '(default; not readable from svr show config)';
    }
  }

  /** Starts router `r` (extra node flags, e.g. --cpu-prof, go before the script; svrArgs after `node start`). */
  async start(r: RouterName, nodeFlags: readonly string[], svrArgs: readonly string[] = HEADLINE_NODE_ARGS, config = this.configPath): Promise<Proc> {
    const args = [...nodeFlags, SVR_SCRIPT, 'node', 'start', ...svrArgs, '--config', config, '--name', r,
      '--socket', this.socket(r), '--run-dir', join(this.dir, 'run'),
      // our own state database: the default /var/lib/svrouter/<name> may be held by another node r1/r2 on this host
      ...(await supportsDataDir() ? ['--data-dir', join(this.dir, `data-${r}`)] : [])];
    const p = spawnIn(NS[r], `svr-${r}`, process.execPath, args, join(this.dir, `${r}${nodeFlags.length > 0 ? '-profiled' : ''}.log`));
    this.procs[r] = p;
    await waitForLine(p, /node\.running/, NODE_START_MS);
    if (this.keys === 'handshake' && this.procs[r === 'r1' ? 'r2' : 'r1'] !== undefined) await this.handshakeReady();
    return p;
  }

  /** Restarts r1 and r2 on another config file (default: the headline config again), with the headline flags
   *  (r1's node flags: e.g. --cpu-prof). */
  async restartWith(config = this.configPath, r1Flags: readonly string[] = []): Promise<void> {
    for (const r of ['r1', 'r2'] as const) await this.stopRouter(r);
    for (const r of ['r1', 'r2'] as const) await this.start(r, r === 'r1' ? r1Flags : [], HEADLINE_NODE_ARGS, config);
  }

  /** Restarts r1 and r2 with `svrArgs` added to `svr node start` (default: the headline flags again). */
  async restartRouters(svrArgs: readonly string[] = HEADLINE_NODE_ARGS): Promise<void> {
    for (const r of ['r1', 'r2'] as const) await this.stopRouter(r);
    for (const r of ['r1', 'r2'] as const) await this.start(r, [], svrArgs);
  }

  /**
   * "r1 alone" on (or back off): r2's node stops and r2 forwards in the kernel; r1 restarts with the service
   * routed to a local next hop (its LAN device, then the kernel's route via r2), and what comes back from r2 is
   * steered into r1's LAN device. r1's sessions are then local ones: classified, checked against policy and
   * tracked like any other, without metadata, HMAC or a peer. One router's session rate, with the cores
   * not shared with a second router.
   */
  async aloneR1(on: boolean): Promise<void> {
    const op = on ? 'add' : 'del';
    for (const r of ['r1', 'r2'] as const) await this.stopRouter(r);
    await ipn(NS.r2, ['route', op, CLIENT_NET, 'via', R1_WAN]);
    await ipn(NS.r1, ['route', op, SERVER_NET, 'via', R2_WAN]);
    // r1's LAN and what comes back from r2 steered into lan0 (its config routes default in table 100); the rules
    // stay in the namespace's state (the kernel walks rules from the first one added until the namespace goes)
    await ipn(NS.r1, ['rule', op, 'iif', DEV.r1Lan, 'lookup', String(LAN_TABLE), 'pref', '100']);
    await ipn(NS.r1, ['rule', op, 'iif', DEV.r1Wan, 'lookup', String(LAN_TABLE), 'pref', '101']);
    if (on) {
      await this.start('r1', [], HEADLINE_NODE_ARGS, this.aloneConfigPath);
    } else {
      for (const r of ['r1', 'r2'] as const) await this.start(r, []);
    }
  }

  /** With "r1 alone" on: restarts r1 with `svrArgs` (e.g. --workers 2) on the local-next-hop config. */
  async restartR1Alone(svrArgs: readonly string[]): Promise<void> {
    await this.stopRouter('r1');
    await this.start('r1', [], svrArgs, this.aloneConfigPath);
  }

  /** Stops router `r` cleanly (SIGTERM: devices and their routes vanish; --cpu-prof writes its profile). */
  async stopRouter(r: RouterName): Promise<void> {
    const p = this.procs[r];
    if (p !== undefined) await stop(p, 10_000);
    delete this.procs[r];
  }

  async teardown(): Promise<void> {
    await this.stopRouter('r1');
    await this.stopRouter('r2');
    await ipn(NS.r1, ['route', 'del', `${WAYPOINT_R2}/32`]).catch(() => undefined);
    await ipn(NS.r2, ['route', 'del', `${WAYPOINT_R1}/32`]).catch(() => undefined);
    // what aloneR1(true) adds, if a failed step left it
    await ipn(NS.r2, ['route', 'del', CLIENT_NET, 'via', R1_WAN]).catch(() => undefined);
    await ipn(NS.r1, ['route', 'del', SERVER_NET, 'via', R2_WAN]).catch(() => undefined);
    await ipn(NS.r1, ['rule', 'del', 'iif', DEV.r1Lan, 'lookup', String(LAN_TABLE), 'pref', '100']).catch(() => undefined);
    await ipn(NS.r1, ['rule', 'del', 'iif', DEV.r1Wan, 'lookup', String(LAN_TABLE), 'pref', '101']).catch(() => undefined);
  }

  routerProcs(): Proc[] {
    return (['r1', 'r2'] as const).map((r) => this.procs[r]).filter((p): p is Proc => p !== undefined);
  }

  proc(r: RouterName): Proc | undefined {
    return this.procs[r];
  }

  /** What `svr show stats --json --socket <r>.sock` prints, asked over the control socket from this process (an
   *  `svr` process costs a Node start, 0.7-1 s of CPU at load 25, on the 2 vCPUs the routers share). */
  async stats(r: RouterName): Promise<Record<string, unknown>> {
    return await request(this.socket(r), { method: 'show', what: 'stats' }, 30_000) as Record<string, unknown>;
  }

  /** Waits (20 s at most) until r1's paths to r2 are up; throws `why` when they are not. */
  async pathsUp(why = 'r1\'s path to r2 did not come up within 20 s'): Promise<void> {
    const deadline = Date.now() + 20_000;
    for (;;) {
      const peers = await this.show('r1', 'peers').catch(() => []) as { paths: { up: boolean }[] }[];
      if (peers.length > 0 && peers.every((p) => p.paths.every((x) => x.up))) return;
      if (Date.now() > deadline) throw new Error(why);
      await sleep(250);
    }
  }

  /** Router `r` re-reads its config file (`svr reload`, over the control socket); throws when it refused it. */
  async reload(r: RouterName): Promise<void> {
    await request(this.socket(r), { method: 'reload' }, 30_000);
  }

  /** What `svr show <what> --json --socket <r>.sock` prints (over the control socket, as `stats`). */
  async show(r: RouterName, what: ShowWhat): Promise<unknown> {
    return await request(this.socket(r), { method: 'show', what }, 30_000);
  }

  /** Log lines of router `r` matching `re` (its current log file). */
  logLines(r: RouterName, re: RegExp): string[] {
    const p = this.procs[r];
    return p === undefined ? [] : logText(p).split('\n').filter((l) => re.test(l));
  }

  logTail(r: RouterName): string {
    const p = this.procs[r];
    return p === undefined ? '' : logTail(p);
  }
}
