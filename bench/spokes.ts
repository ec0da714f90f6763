/**
 * The spokes of the hub case (hub.ts) in one process: the far end of every peer path of the hub, each on its
 * own UDP socket bound to the spoke's waypoint:1280 (so every path is a distinct 5-tuple on the wire), each
 * played by a SpokePath (spoke-wire.ts: BFD, link tests, MTU answers, STEP). Keys and timers come from the
 * same authority file the hub loads, compiled for the hub: both ends of a path derive the same key.
 *
 *   node dist/bench/spokes.js --config FILE [--hub hub] [--no-publish] [--fail N] [--fail-path 0|1]
 *
 * Prints JSON lines: `ready` (sockets bound), `status` every 2 s (spoke-side BFD Up count, counters), and on
 * SIGUSR1 `silenced`: path `--fail-path` of the first `--fail` spokes stops sending and answering, with when
 * each last sent a BFD packet (wall ms; paths by the hub's name of them); SIGUSR2 lets them speak again (`resumed`). Run it in a namespace that holds the
 * spokes' addresses (hub.ts adds them).
 */
import { createSocket, type Socket } from 'node:dgram';
import { readFileSync } from 'node:fs';
import { compileRouter } from '../src/model/compile.js';
import { parseConfig } from '../src/model/validate.js';
import { keyId } from '../src/dataplane/path-keys.js';
import { formatAddress } from '../src/packet/addr.js';
import type { RouterDocument } from '../src/step/document.js';
import { TokenBucket } from '../src/step/smoothing.js';
import { newCounters, SpokePath } from './spoke-wire.js';

const CONTROL_PORT = 1280;
const TICK_MS = 10;
/** a spoke republishes its STEP document this often, and at most 2 back to back then 1 per 30 s on topology
 *  changes (the agent's defaults: refreshIntervalMs, burst, minIntervalMs; step/options.ts) */
const STEP_REFRESH_MS = 180_000;
const STEP_BURST = 2;
const STEP_MIN_INTERVAL_MS = 30_000;

interface Args { config: string; hub: string; publish: boolean; fail: number; failPath: number }

function parseArgs(argv: string[]): Args {
  const a: Args = { config: '', hub: 'hub', publish: true, fail: 0, failPath: 0 };
  for (let i = 0; i < argv.length; i++) {
    const k = argv[i];
    if (k === '--config') a.config = argv[++i] ?? '';
    else if (k === '--hub') a.hub = argv[++i] ?? '';
    else if (k === '--no-publish') a.publish = false;
    else if (k === '--fail') a.fail = Number(argv[++i]);
    else if (k === '--fail-path') a.failPath = Number(argv[++i]);
    else throw new Error(`spokes: unknown option ${k} (usage: --config FILE [--hub NAME] [--no-publish] [--fail N] [--fail-path 0|1])`);
  }
  if (a.config === '') throw new Error('spokes: --config FILE is required');
  return a;
}

interface Spoke {
  name: string;
  paths: SpokePath[];
  doc: RouterDocument | null;
  nextPublishMs: number;
  upBefore: number;
  /** a topology change waits for a token */
  dirty: boolean;
  bucket: TokenBucket;
}

const emit = (event: string, fields: Record<string, unknown>): void => {
  process.stdout.write(`${JSON.stringify({ event, wallMs: Date.now(), ...fields })}\n`);
};

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const config = parseConfig(readFileSync(args.config, 'utf8'), args.config);
  const tables = compileRouter(config, args.hub, 0);
  const counters = newCounters();
  const sockets: Socket[] = [];
  const spokes: Spoke[] = [];
  const now = (): number => performance.now();
  const discriminators = new Set<number>();
  /** the hub's name of each path (wan0->spoke-0001/wan0): what the `silenced` line reports */
  const hubNames = new Map<SpokePath, string>();
  for (const peer of tables.peers) {
    const spoke: Spoke = { name: peer.name, paths: [], doc: null, nextPublishMs: Infinity, upBefore: 0, dirty: false, bucket: new TokenBucket(STEP_BURST, STEP_MIN_INTERVAL_MS, now()) };
    for (const id of peer.paths) {
      const p = tables.paths[id]!;
      if (p.keyExchange !== 'static') throw new Error(`spokes: path ${p.name} uses key-exchange ${p.keyExchange}; the simulator signs with the config's static keys`);
      const local = formatAddress(p.remoteWaypoint, 0, p.family);
      const hub = formatAddress(p.localWaypoint, 0, p.family);
      const socket = createSocket({ type: p.family === 6 ? 'udp6' : 'udp4' });
      let discr = 0;
      while (discr === 0 || discriminators.has(discr)) discr = (Math.random() * 0x100000000) >>> 0;
      discriminators.add(discr);
      const remoteName = p.name.split('->')[1]!.split('/')[1]!;
      const pathName = `${remoteName}->${args.hub}/${p.name.split('->')[0]}`;
      const sp = new SpokePath(pathName, discr, { mode: p.hmac.mode, cipher: p.hmac.cipher, key: p.hmac.key, keyId: keyId(p.hmac.keyVersion), tagLength: p.hmac.tagLength },
        { desiredTxMs: p.bfd.desiredTxMs, requiredMinRxMs: p.bfd.requiredMinRxMs, multiplier: p.bfd.multiplier, linkTestIntervalMs: p.bfd.linkTestIntervalMs, linkTestLength: p.bfd.linkTestLength, linkTestSpacingMs: 100 },
        (d) => socket.send(d, CONTROL_PORT, hub), counters, Math.random, () => spoke.doc, now());
      socket.on('message', (msg, rinfo) => {
        if (rinfo.port !== CONTROL_PORT || rinfo.address !== hub) return;
        sp.receive(new Uint8Array(msg.buffer, msg.byteOffset, msg.length), now(), Date.now());
      });
      socket.on('error', (e) => emit('socket-error', { path: pathName, message: e.message }));
      await new Promise<void>((res, rej) => {
        socket.once('error', rej);
        socket.bind(CONTROL_PORT, local, () => {
          socket.off('error', rej);
          res();
        });
      });
      sockets.push(socket);
      spoke.paths.push(sp);
      hubNames.set(sp, p.name);
    }
    spokes.push(spoke);
  }
  const docOf = (s: Spoke, wall: number): RouterDocument => ({
    router: s.name, authority: config.authority.name, version: wall, generatedAt: wall, services: [],
    peers: [{ peer: args.hub, paths: s.paths.map((p) => ({ name: p.name, vector: '', usable: p.state === 'up' })) }],
  });
  const tick = (): void => {
    const t = now();
    const wall = Date.now();
    for (const s of spokes) {
      let up = 0;
      for (const p of s.paths) {
        p.due(t, wall);
        if (p.state === 'up') up++;
      }
      if (!args.publish) continue;
      // STEP (step/agent.ts): publish when the usable paths change (a topology change: when a token allows), and
      // every refresh
      if (up !== s.upBefore) s.dirty = true;
      s.upBefore = up;
      if (up === 0) continue;
      if ((s.dirty && s.bucket.take(t)) || t >= s.nextPublishMs) {
        s.dirty = false;
        s.doc = docOf(s, Math.max(wall, (s.doc?.version ?? 0) + 1));
        s.paths.find((p) => p.state === 'up')!.sendDocument(s.doc, wall);
        s.nextPublishMs = t + STEP_REFRESH_MS * (s.nextPublishMs === Infinity ? Math.random() : 1);
      }
    }
  };
  const ticker = setInterval(tick, TICK_MS);
  const failing = (): SpokePath[] => spokes.slice(0, args.fail).map((s) => s.paths[args.failPath]).filter((p) => p !== undefined);
  process.on('SIGUSR1', () => {
    const t = now();
    const wall = Date.now();
    const paths = failing();
    for (const p of paths) p.silent = true;
    emit('silenced', { paths: paths.map((p) => ({ path: hubNames.get(p), lastBfdTxWallMs: wall - (t - p.lastBfdTxMs) })) });
  });
  process.on('SIGUSR2', () => {
    for (const p of failing()) p.silent = false;
    emit('resumed', {});
  });
  const status = setInterval(() => {
    const up = spokes.reduce((n, s) => n + s.paths.filter((p) => p.state === 'up').length, 0);
    emit('status', { paths: sockets.length, up, counters });
  }, 2000);
  process.once('SIGTERM', () => {
    clearInterval(ticker);
    clearInterval(status);
    for (const s of sockets) s.close();
  });
  emit('ready', { spokes: spokes.length, paths: sockets.length, publish: args.publish });
}

main().catch((e: unknown) => {
  process.stderr.write(`spokes: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exitCode = 1;
});
