/**
 * The BFD schedule (paths/bfd-schedule.ts) on the real event loop: a thread that stalls past a Detection Time
 * while the peer's packets keep arriving. Node runs due timers before it reads I/O, so after the stall the
 * detection tick comes first; its verdict waits for the input already waiting (`afterInput`), and the path
 * stays Up. Real silence still takes it down. The stall is a busy loop here; on a loaded machine it is the
 * CPU the thread did not get (lab paths went down 6-16 times a run at load 20-25).
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createSocket, type Socket } from 'node:dgram';
import { once } from 'node:events';
import { createActor } from 'xstate';
import { bfdMachine, detectionWatched, type BfdEvent } from '../../../src/machines/bfd.js';
import { decodeBfdControl, encodeBfdControl, type BfdControlPacket, type BfdState } from '../../../src/packet/bfd.js';
import { BfdSchedule } from '../../../src/paths/bfd-schedule.js';

const MINE = 0x1111;
const REMOTE = 0x2222;
/** both ends 20 ms, multiplier 3: a Detection Time of 60 ms */
const TIMER_US = 20_000;

function packet(state: BfdState, over: Partial<BfdControlPacket> = {}): BfdControlPacket {
  return {
    diag: 0, state, poll: false, final: false, controlPlaneIndependent: false, demand: false, detectMult: 3,
    myDiscriminator: REMOTE, yourDiscriminator: state === 'down' ? 0 : MINE,
    desiredMinTxUs: TIMER_US, requiredMinRxUs: TIMER_US, requiredMinEchoRxUs: 0, ...over,
  };
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function stall(ms: number): void {
  const end = performance.now() + ms;
  while (performance.now() < end) {
    // the thread gets no event loop turn: timers fall due, packets wait in the socket
  }
}

/** One session whose packets come over a UDP socket, wired as PathSupervisor wires it (real timers). */
async function session(): Promise<{
  state(): string; expired: number; spared: number; rx(p: BfdControlPacket): void; send(p: BfdControlPacket): void; close(): void;
}> {
  const actor = createActor(bfdMachine, { input: { myDiscriminator: MINE, desiredMinTxMs: 20, requiredMinRxMs: 20, multiplier: 3 } });
  const counts = { expired: 0, spared: 0 };
  const schedule = new BfdSchedule({ now: () => performance.now(), setTimeout: (fn, ms) => setTimeout(fn, ms), clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout) }, {
    expire: () => {
      counts.expired++;
      actor.send({ type: 'bfd.detectionTimeExpired' });
    },
    transmit: () => {},
    batch: (fn) => fn(),
    afterInput: (fn) => setImmediate(fn), // as PathSupervisor's default
    spared: (n) => {
      counts.spared += n;
    },
  });
  const slot = schedule.add(1);
  actor.subscribe((snap) => schedule.sync(slot, snap.context, detectionWatched(snap)));
  actor.start();
  const take = (b: Uint8Array): void => {
    if (schedule.steady(slot, b)) return;
    const d = decodeBfdControl(b);
    if (!d.ok) return;
    schedule.accepted(slot);
    actor.send({ type: 'bfd.rx', packet: d.packet } satisfies BfdEvent);
  };
  const rx: Socket = createSocket('udp4');
  const tx: Socket = createSocket('udp4');
  rx.on('message', take);
  rx.bind(0, '127.0.0.1');
  await once(rx, 'listening');
  tx.connect(rx.address().port, '127.0.0.1');
  await once(tx, 'connect');
  return {
    state: () => {
      const v = (actor.getSnapshot().value as { session: string | Record<string, unknown> }).session;
      return typeof v === 'string' ? v : Object.keys(v)[0]!;
    },
    get expired() { return counts.expired; },
    get spared() { return counts.spared; },
    rx: (p) => take(encodeBfdControl(p)),
    // a connected socket's small datagram is written at once (loopback: in rx's buffer when send returns)
    send: (p) => tx.send(encodeBfdControl(p)),
    close: () => {
      schedule.stop();
      actor.stop();
      rx.close();
      tx.close();
    },
  };
}

test('a detection tick that comes late after a stall reads the packets that arrived meanwhile before its verdict: the path stays Up', async () => {
  const s = await session();
  try {
    // from the check phase (in a timers phase Node could leave the new timer to the next turn, after I/O); no
    // event loop turn from here to the stall: nothing else can move the session's clock
    await new Promise((done) => setImmediate(done));
    s.rx(packet('init'));
    s.rx(packet('up', { final: true })); // ends our Poll (Up changed our timers)
    assert.is(s.state(), 'up');
    s.send(packet('up')); // waits in the socket
    stall(200); // > 3 x the 60 ms Detection Time since the last packet the session read
    await sleep(5); // the event loop turns: the overdue tick runs first, then I/O, then the verdict
    assert.is(s.expired, 0, 'no expiry: the packet waiting in the socket restarted the Detection Time first');
    assert.is(s.spared, 1, 'counted as spared');
    assert.is(s.state(), 'up');
    await sleep(300); // the peer now really is silent
    await new Promise((done) => setImmediate(done)); // a verdict the last tick asked for (a loaded machine's late timers)
    assert.is(s.state(), 'down', 'silence still takes the path down');
    assert.is(s.expired, 1);
  } finally {
    s.close();
  }
});

test.run();
