/**
 * What a new SVR session costs the routers' code, in process (no TUN, no kernel): r1 and r2 as the node runs
 * them (createRouter: data path, control, handshake episodes, event fan-out) on the sustained case's config
 * (UDP idle timeout 2 s here, so the sessions expire within the run), a client port that opens `--sessions`
 * new UDP sessions (each a new 5-tuple, at most `--window` in flight: a closed loop, so a loaded machine
 * slows the run instead of starving the handshakes; a session unanswered for 5 s is counted lost and leaves the
 * window) and a server port that echoes each datagram. Wires deliver one batch per event-loop turn, as a TUN
 * reader hands one over. Prints the sessions answered, lost, created and expired, and the process CPU per answered session (both routers, the client and the echo;
 * with --cpu-prof, by function). With --tcp, short TCP sessions instead (bench/session-cost-tcp.ts: seven
 * segments each, closed by the client's RST, as the sustained case's TCP load makes them).
 * Run: node dist/bench/session-cost.js [--sessions 100000] [--window 512] [--tcp]
 */
import { loadavg } from 'node:os';
import { createRouter } from '../src/control/router.js';
import type { BatchHandler, PacketPort } from '../src/dataplane/port.js';
import { parseConfig } from '../src/model/validate.js';
import { buildUdp } from '../src/packet/build.js';
import { parseAddress } from '../src/packet/addr.js';
import { costSummary, sessionIndex, SessionWindow, writeSessionDatagram } from './session-cost-client.js';
import { AnswerBatch, clientAnswers, serverAnswers, TCP_SEGMENT, writeSessionSyn } from './session-cost-tcp.js';
import { svrConfigYaml, TCP_SESSION_PORT, UDP_SESSION_PORTS } from './svr-config.js';
import { SERVER } from './topology.js';

const arg = (name: string, def: number): number => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : def;
};
const COUNT = arg('sessions', 100_000);
const WINDOW = arg('window', 512);
const TCP = process.argv.includes('--tcp');
const IDLE_S = 2;
/** new sessions in one client batch */
const PER_SEND = 64;
/** a session unanswered this long is lost: past every timer of the routers' that could still answer it (SessionWindow) */
const LOST_MS = 5000;

/** One end of a wire: transmit copies into the other end's queue, delivered as one batch on the next turn. */
class WireEnd implements PacketPort {
  peer!: WireEnd;
  private handler: BatchHandler | null = null;
  private buf = new Uint8Array(1 << 22);
  private off = new Uint32Array(65536);
  private len = new Uint32Array(65536);
  private n = 0;
  private at = 0;
  private scheduled = false;
  constructor(readonly name: string) {}
  start(deliver: BatchHandler): void { this.handler = deliver; }
  transmit(data: Uint8Array, offsets: Uint32Array, lengths: Uint32Array, count: number): void {
    for (let i = 0; i < count; i++) this.peer.enqueue(data, offsets[i]!, lengths[i]!);
  }
  enqueue(data: Uint8Array, off: number, len: number): void {
    if (this.n === this.off.length || this.at + len > this.buf.length) return; // full: dropped
    this.buf.set(data.subarray(off, off + len), this.at);
    this.off[this.n] = this.at;
    this.len[this.n] = len;
    this.n++;
    this.at += len;
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(() => this.flush());
    }
  }
  private flush(): void {
    this.scheduled = false;
    // a copy of what is queued (a router's host may keep a batch past the call, as it does a TUN reader's)
    const n = this.n, buf = this.buf.slice(0, this.at), off = this.off.slice(0, n), len = this.len.slice(0, n);
    this.n = 0;
    this.at = 0;
    for (let k = 0; k < n; k += 256) this.handler?.(buf, off.subarray(k), len.subarray(k), Math.min(256, n - k));
  }
  close(): void { this.handler = null; }
}

function wire(a: string, b: string): [WireEnd, WireEnd] {
  const x = new WireEnd(a), y = new WireEnd(b);
  x.peer = y;
  y.peer = x;
  return [x, y];
}

async function main(): Promise<void> {
  const config = parseConfig(svrConfigYaml({ encrypt: false, udpIdleTimeoutS: IDLE_S }), 'bench.yaml');
  const [clientEnd, r1Lan] = wire('client', 'r1-lan');
  const [r1Wan, r2Wan] = wire('r1-wan', 'r2-wan');
  const [r2Lan, serverEnd] = wire('r2-lan', 'server');
  const r1 = createRouter(config, { lan0: r1Lan, wan0: r1Wan }, { name: 'r1', liveness: 'static' });
  const r2 = createRouter(config, { lan0: r2Lan, wan0: r2Wan }, { name: 'r2', liveness: 'static' });
  const win = new SessionWindow(COUNT, WINDOW, PER_SEND, LOST_MS);
  // the session an answer ends: from the client's address and port it comes to (IPv4, 20-byte header)
  const answerOf = (d: Uint8Array, off: number, firstDstPort: number): void =>
    win.answer(sessionIndex(d[off + 19]!, (d[off + 22]! << 8) | d[off + 23]!, (d[off + 20]! << 8) | d[off + 21]!, firstDstPort));
  if (TCP) {
    const toServer = new AnswerBatch(), toClient = new AnswerBatch();
    clientEnd.start((d, o, l, n) => {
      toServer.reset();
      for (let i = 0; i < n; i++) if (clientAnswers(toServer, d, o[i]!, l[i]!) === 1) answerOf(d, o[i]!, TCP_SESSION_PORT);
      if (toServer.count > 0) clientEnd.transmit(toServer.data, toServer.offsets, toServer.lengths, toServer.count);
    });
    serverEnd.start((d, o, l, n) => {
      toClient.reset();
      for (let i = 0; i < n; i++) serverAnswers(toClient, d, o[i]!, l[i]!);
      if (toClient.count > 0) serverEnd.transmit(toClient.data, toClient.offsets, toClient.lengths, toClient.count);
    });
  } else {
    clientEnd.start((d, o, _l, n) => { for (let i = 0; i < n; i++) answerOf(d, o[i]!, UDP_SESSION_PORTS.from); });
    serverEnd.start((d, o, l, n) => {
      for (let i = 0; i < n; i++) {
        // the echo: swap addresses and ports (IPv4, UDP), checksums unchanged by a swap
        const p = d.slice(o[i]!, o[i]! + l[i]!);
        for (let k = 0; k < 4; k++) { const x = p[12 + k]!; p[12 + k] = p[16 + k]!; p[16 + k] = x; }
        for (let k = 0; k < 2; k++) { const x = p[20 + k]!; p[20 + k] = p[22 + k]!; p[22 + k] = x; }
        serverEnd.transmit(p, Uint32Array.of(0), Uint32Array.of(p.length), 1);
      }
    });
  }
  await r1.start();
  await r2.start();
  await Promise.all([r1.whenPathsUp(), r2.whenPathsUp()]);
  // one template datagram (or SYN); each session patches its source address and ports
  const src = parseAddress('198.18.1.128')!.bytes, dst = parseAddress(SERVER)!.bytes;
  const tpl = buildUdp({ src, dst, srcPort: 20000, dstPort: UDP_SESSION_PORTS.from, payload: new Uint8Array(11) });
  const perTick = PER_SEND;
  const size = TCP ? TCP_SEGMENT : tpl.length;
  const batch = new Uint8Array(size * perTick);
  const offs = new Uint32Array(perTick).map((_, i) => i * size);
  const lens = new Uint32Array(perTick).fill(size);
  const send = (): void => {
    const first = win.sendChunk(performance.now());
    for (let i = 0, next = first; i < perTick; i++, next++) {
      if (TCP) writeSessionSyn(batch, i * size, src, dst, next, TCP_SESSION_PORT);
      else writeSessionDatagram(batch, i * size, tpl, next, UDP_SESSION_PORTS.from);
    }
    clientEnd.transmit(batch, offs, lens, perTick);
  };
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  // closed loop: at most WINDOW sessions in flight (a loaded machine then slows the run, not the handshakes)
  let lastAnswerAt = t0;
  await new Promise<void>((done) => {
    const pump = (): void => {
      const now = performance.now();
      win.sweep(now);
      while (win.canSend()) send();
      if (win.answered > seen) { seen = win.answered; lastAnswerAt = now; }
      if (win.finished()) done();
      else setImmediate(pump);
    };
    let seen = 0;
    pump();
  });
  const busyMs = lastAnswerAt - t0;
  await new Promise((r) => setTimeout(r, (IDLE_S + 1.5) * 1000)); // the answers, and the sessions' expiry
  const cpu = process.cpuUsage(cpu0);
  const wall = (performance.now() - t0) / 1000;
  const c1 = r1.counters(), c2 = r2.counters();
  const { answered, lost, sent } = win;
  const { usPerSession, perSecond, cpuS } = costSummary({ cpuUs: cpu.user + cpu.system, answered, busyMs });
  console.log(JSON.stringify({
    protocol: TCP ? 'tcp' : 'udp', sessions: COUNT, window: WINDOW, sent, perSecond, answered, lost, created: [c1['sessions-created'], c2['sessions-created']], expired: [c1['sessions-expired'], c2['sessions-expired']],
    drops: [c1, c2].map((c) => Object.entries(c).filter(([k, v]) => k.startsWith('drop-') && v > 0)), cpuS, wallS: +wall.toFixed(1), usPerSession, load: loadavg()[0],
  }));
  await r1.stop();
  await r2.stop();
}

main().catch((e: unknown) => {
  console.error(e);
  process.exitCode = 1;
});
