/**
 * Per-packet cost of replay protection, without the HMAC it rides on (docs/security.md "Measured"):
 *   send:    tx key lookup + replay block written + counter advanced;
 *   receive: replay block read + rx key by key id + the sender's window + RFC 6479 check,
 *            for counters in order and for counters reordered within 64; and in order with the windows'
 *            tops marked for the worker host (a worker thread: replay-marks.ts).
 *
 *   node dist/bench/replay.js [--runs 7] [--ms 300]
 *
 * CPU ns per packet (process user + system time), median of --runs runs of at least --ms ms each.
 */
import { PathKeys } from '../src/dataplane/path-keys.js';
import { REPLAY_OK } from '../src/dataplane/replay-window.js';
import { createReplayMarks, ReplayMarks } from '../src/dataplane/replay-marks.js';
import { compileRouter } from '../src/model/compile.js';
import { parseConfig } from '../src/model/validate.js';
import { REPLAY_BLOCK_LENGTH, replayCounterHi, replayCounterLo, replayKeyId, replaySender, writeReplayBlock } from '../src/packet/svr-trailer.js';
import { inProcessConfig } from './inprocess-config.js';

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(name);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
}

const RUNS = arg('--runs', 7);
const MS = arg('--ms', 300);
const BATCH = 256;

/** CPU ns per op of `step` (which does BATCH ops), median over RUNS. */
function measure(step: () => void): number {
  const results: number[] = [];
  for (let run = -1; run < RUNS; run++) {
    const c0 = process.cpuUsage();
    let ops = 0;
    let used = 0;
    while (used < MS * 1000) {
      for (let i = 0; i < 64; i++) step();
      ops += 64 * BATCH;
      const c = process.cpuUsage(c0);
      used = c.user + c.system;
    }
    if (run >= 0) results.push((used * 1000) / ops);
  }
  results.sort((a, b) => a - b);
  return results[Math.floor(results.length / 2)]!;
}

const tables = compileRouter(parseConfig(inProcessConfig(false)), 'r1', 1);
const tx = new PathKeys();
tx.setTables(tables, Date.now());
const rx = new PathKeys();
rx.setTables(tables, Date.now());
const rxMarked = new PathKeys();
rxMarked.useMarks(new ReplayMarks(createReplayMarks(1024)), []);
rxMarked.setTables(tables, Date.now());
const d = new Uint8Array(BATCH * 16);
let sink = 0;

const send = () => {
  for (let i = 0; i < BATCH; i++) {
    const k = tx.tx(0, 1)!;
    writeReplayBlock(d, i * 16, k.keyId, tx.sender, k.hi, k.lo);
    k.advance();
  }
};

/** Receives the batch in `d` (as written by send), in the order of `order`. */
const receive = (order: Uint16Array, rx: PathKeys) => () => {
  send();
  for (let j = 0; j < BATCH; j++) {
    const at = order[j]! * 16;
    const k = rx.rx(0, replayKeyId(d, at), 1)!;
    if (rx.windows.check(rx.window(k, replaySender(d, at)), replayCounterHi(d, at), replayCounterLo(d, at)) === REPLAY_OK) sink++;
  }
};

const inOrder = Uint16Array.from({ length: BATCH }, (_, i) => i);
const shuffled = inOrder.slice();
for (let b = 0; b < BATCH; b += 64) {
  for (let i = b + 63; i > b; i--) {
    const j = b + Math.floor(Math.random() * (i - b + 1));
    [shuffled[i], shuffled[j]] = [shuffled[j]!, shuffled[i]!];
  }
}

const sendNs = measure(send);
const rxInOrder = measure(receive(inOrder, rx)) - sendNs;
const rxShuffled = measure(receive(shuffled, rx)) - sendNs;
const rxMarks = measure(receive(inOrder, rxMarked)) - sendNs;
console.log(`replay block: ${REPLAY_BLOCK_LENGTH} bytes per signed packet`);
console.log(`send    (tx key, block, counter)                 ${sendNs.toFixed(1)} ns/packet`);
console.log(`receive (block, rx key, window), in order        ${rxInOrder.toFixed(1)} ns/packet`);
console.log(`receive (block, rx key, window), reordered by 64 ${rxShuffled.toFixed(1)} ns/packet`);
console.log(`receive, in order, tops marked (worker threads)  ${rxMarks.toFixed(1)} ns/packet`);
if (sink === 0) throw new Error('nothing accepted');
