/**
 * The reader thread's L4 checksum verdicts (native/tun-pass.c svr_tun_pass_verdicts; docs/tun-io.md "A steady pass
 * without JS"): a thread-mode reader checks each batch's L4 checksums while the bytes are in its core's cache and
 * hands them over with the batch, and the pass's admit (native/fwd.c) takes a verdict of 1 for its own check, so the
 * JS thread does not read the payload for it. Through tunPassProbe on native/fwd.c's table holding one marked UDP flow
 * whose payload is framed (the plain marker: the checksum is checked before the bytes change): without verdicts, or
 * with the verdict 0 a reader gives a bad checksum, a datagram with a bad UDP checksum goes to JS (which drops and
 * counts it) and the good one is forwarded; a verdict of 1 is taken as is.
 */
import * as assert from 'uvu/assert';
import { BatchHmac } from '../../../src/crypto/native-crypto.js';
import { NativeForward, SEAL_PLAIN } from '../../../src/dataplane/native-forward.js';
import { passIndices } from '../../../src/dataplane/steady-pass.js';
import { loadNative } from '../../../src/io/tun/native.js';
import { buildUdp } from '../../../src/packet/build.js';
import { requires } from '../../support/prerequisites.js';

const test = requires(import.meta.url);
const SNAP = 2048, NOW = 1_000_000;
const CLIENT = Uint8Array.of(198, 18, 1, 10), SERVER = Uint8Array.of(198, 18, 3, 20);
const word = (a: Uint8Array): number => ((a[0]! << 24) | (a[1]! << 16) | (a[2]! << 8) | a[3]!) >>> 0;

function table(): NativeForward {
  const nf = new NativeForward();
  nf.follow({
    pktsFwd: new Uint32Array(4), bytesFwd: new Float64Array(4), pktsRev: new Uint32Array(4), bytesRev: new Float64Array(4),
    lastSeen: new Uint32Array(4), expires: new Uint32Array(4), flags: new Uint16Array(4),
    syncRows: new Float64Array(0), syncDirty: new Int32Array(0), syncTop: new Int32Array(1), onColumns: null,
  });
  nf.paths(Uint8Array.of(1));
  const marked = nf.mark({
    ifIndex: 0, protocol: 17, src: word(CLIENT), dst: word(SERVER), ports: ((5000 << 16) | 6000) >>> 0,
    row: 0, forward: true, wpSrc: word(Uint8Array.of(198, 18, 12, 1)), wpDst: word(Uint8Array.of(198, 18, 12, 2)), localPort: 16000, peerPort: 16001,
    outIf: 1, mtu: 1500, path: 0, seal: SEAL_PLAIN, service: 0, keyIdByte: 0, timeoutMs: 60_000, timed: false, flags: 0, transform: false,
  }, BatchHmac.create('sha256-128', new Uint8Array(32).fill(5)), 1, 1, new Uint32Array(3), null, NOW + 60_000);
  assert.ok(marked, 'the flow is marked');
  return nf;
}

/** A good datagram then one whose UDP checksum is wrong, through the pass with `l4ok`; what went out and what is left. */
function run(l4ok?: Uint8Array): { out: number; left: number; leftLens: number[] } {
  const nf = table(), data = new Uint8Array(2 * SNAP), lens = new Uint32Array(2);
  for (let i = 0; i < 2; i++) {
    const p = buildUdp({ src: CLIENT, dst: SERVER, srcPort: 5000, dstPort: 6000, id: i + 1, payload: new Uint8Array(300 + i).fill(7) });
    if (i === 1) p[27] = p[27]! ^ 0x55; // a bad UDP checksum (not 0: "none")
    data.set(p, i * SNAP);
    lens[i] = p.length;
  }
  const idx = passIndices(0, 2, { rxBatches: 0, rx: 1, native: 2, tx: 3, noPort: 4, badPayload: 5, ifIds: Int32Array.from({ length: 8 }, (_, i) => 6 + i), stride: 4 });
  const tally = new Float64Array(4), out = new Uint8Array(2 * SNAP);
  const left = loadNative().tunPassProbe(nf.handle, 0, new Float64Array(16), idx, tally, NOW, data, lens, 2, SNAP, out, new Uint32Array(2), new Uint32Array(2), l4ok);
  return { out: tally[3]!, left, leftLens: [...lens.subarray(0, left)] };
}

test('without verdicts the pass checks: the bad checksum goes to JS, the good one is forwarded', () => {
  assert.equal(run(), { out: 1, left: 1, leftLens: [329] });
});

test('a reader\'s verdicts (1, then 0 for the bad checksum): the same decisions', () => {
  assert.equal(run(Uint8Array.of(1, 0)), { out: 1, left: 1, leftLens: [329] });
});

test('a verdict of 1 is taken as the check: the pass does not read the payload for it', () => {
  assert.equal(run(Uint8Array.of(1, 1)), { out: 2, left: 0, leftLens: [] });
});

test.run();
