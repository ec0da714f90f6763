/** Firewall-detector probe and answer bytes (docs/wan.md "UDP transform"); how its poll follows tables and liveness. */
import { Subject } from 'rxjs';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { ForwardingTables } from '../../../src/model/tables.js';
import { decodeFirewallAnswer, decodeFirewallVerdict, encodeFirewallProbe, encodeFirewallVerdict, firewallProbeAnswer, FirewallDetector, JUMBO_BYTES, reasonsOf, VERDICT_REPEAT_TICKS } from '../../../src/paths/firewall-detector.js';
import type { PathMessage } from '../../../src/paths/messages.js';
import { pathMessageKind } from '../../../src/packet/path-message.js';

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

test('a probe: 0xcf, version 0, kind, 0, round, the metadata cookie; the jumbo padded to JUMBO_BYTES', () => {
  assert.is(hex(encodeFirewallProbe(1, 0x01020304)), 'cf000100010203044c48dbc6ddf6670c');
  const jumbo = encodeFirewallProbe(2, 7);
  assert.is(jumbo.length, JUMBO_BYTES);
  assert.ok(jumbo.subarray(16).every((x) => x === 0));
});

test('the answer is the first 8 bytes with 0xd0, and decodes to kind and round', () => {
  const a = firewallProbeAnswer(encodeFirewallProbe(0, 0xfffffffe))!;
  assert.is(hex(a), 'd0000000fffffffe');
  assert.equal(decodeFirewallAnswer(a), { kind: 0, round: 0xfffffffe });
  assert.equal(decodeFirewallAnswer(firewallProbeAnswer(encodeFirewallProbe(2, 9))!), { kind: 2, round: 9 });
});

test('malformed probes get no answer; malformed answers decode to nothing', () => {
  const good = encodeFirewallProbe(1, 5);
  const bad = (f: (b: Uint8Array) => Uint8Array): Uint8Array => f(good.slice());
  assert.is(firewallProbeAnswer(bad((b) => { b[1] = 1; return b; })), undefined, 'version');
  assert.is(firewallProbeAnswer(bad((b) => { b[2] = 3; return b; })), undefined, 'kind');
  assert.is(firewallProbeAnswer(bad((b) => { b[8] = 0; return b; })), undefined, 'cookie');
  assert.is(firewallProbeAnswer(good.subarray(0, 12)), undefined, 'short');
  assert.is(firewallProbeAnswer(encodeFirewallProbe(2, 5).subarray(0, 100)), undefined, 'a cut jumbo');
  assert.is(firewallProbeAnswer(Uint8Array.of(...good, 0)), undefined, 'a padded short probe');
  const a = firewallProbeAnswer(good)!;
  assert.is(decodeFirewallAnswer(a.subarray(0, 7)), undefined);
  assert.is(decodeFirewallAnswer(Uint8Array.of(0xd0, 0, 7, 0, 0, 0, 0, 1)), undefined, 'kind');
});

test('a verdict for the peer: 0xd1, version 0, the kinds found blocked, 0, the verdicts so far; malformed ones decode to nothing', () => {
  const v = encodeFirewallVerdict(0b011, 7);
  assert.equal([...v], [0xd1, 0, 3, 0, 0, 0, 0, 7]);
  assert.is(pathMessageKind(v), 'fw-verdict');
  assert.equal(decodeFirewallVerdict(v), { blocked: 3, episodes: 7 });
  assert.equal(decodeFirewallVerdict(encodeFirewallVerdict(0, 1)), { blocked: 0, episodes: 1 });
  for (const [at, value] of [[1, 1], [2, 8], [3, 1]] as const) {
    const bad = v.slice();
    bad[at] = value;
    assert.is(decodeFirewallVerdict(bad), undefined, `byte ${at} = ${value}`);
  }
  assert.is(decodeFirewallVerdict(v.subarray(0, 7)), undefined, 'short');
});

test('reasons by SSR name', () => {
  assert.equal(reasonsOf(0b011), ['TCP SYN', 'Mid-flow']);
  assert.equal(reasonsOf(0b100), ['TCP SYN Jumbo']);
  assert.equal(reasonsOf(0), []);
});

test('the poll follows the config only when the tables change (a hub polls 2,000 paths a second), and path liveness every time', () => {
  let reads = 0;
  const pathOf = (id: number, name: string, mode: 'auto-detect' | 'disabled') => ({
    id, name,
    get udpTransform() {
      reads++;
      return { mode, detectIntervalMs: 60_000 };
    },
  });
  let tables = { generation: 1, paths: [pathOf(0, 'a', 'auto-detect'), pathOf(1, 'b', 'auto-detect')] } as unknown as ForwardingTables;
  let up = false;
  const probes: number[] = [];
  const fd = new FirewallDetector({
    tables: () => tables, messages$: new Subject(), send: () => true, isPathUp: () => up,
    sendProbe: (path) => probes.push(path) > 0, setPathTransform: () => {}, log: () => {}, count: () => {},
  });
  fd.poll();
  assert.equal([reads, fd.view('a')?.state, fd.view('b')?.state], [2, 'down', 'down']);
  up = true;
  fd.poll();
  assert.equal(reads, 2, 'the same tables: no path\'s config read again');
  assert.equal([fd.view('a')?.state, fd.view('b')?.state, [...new Set(probes)]], ['probing', 'probing', [0, 1]], 'both paths up: probing');
  tables = { generation: 2, paths: [pathOf(0, 'b', 'disabled')] } as unknown as ForwardingTables;
  fd.poll();
  assert.equal([reads, fd.view('a'), fd.view('b')?.state], [3, undefined, 'off'], 'new tables: a left, b disabled');
  fd.stop();
});

test('the verdicts a poll repeats to the peers leave in one batch (a hub repeats ~200 a second)', () => {
  const names = ['a', 'b', 'c'];
  const tables = { generation: 1, paths: names.map((name, id) => ({ id, name, udpTransform: { mode: 'auto-detect', detectIntervalMs: 600_000 } })) } as unknown as ForwardingTables;
  const messages$ = new Subject<PathMessage>();
  const probes: [number, Uint8Array][] = [];
  const verdicts: [number, boolean][] = []; // [path, sent inside a batch]
  let inBatch = false;
  const fd = new FirewallDetector({
    tables: () => tables, messages$, isPathUp: () => true, setPathTransform: () => {}, log: () => {}, count: () => {},
    sendProbe: (path, _flags, payload) => probes.push([path, payload.slice()]) > 0,
    send: (path, payload) => {
      if (pathMessageKind(payload) === 'fw-verdict') verdicts.push([path, inBatch]);
      return true;
    },
    batch: (fn) => {
      inBatch = true;
      try {
        fn();
      } finally {
        inBatch = false;
      }
    },
  });
  fd.start(3_600_000); // polled by hand below
  assert.is(probes.length, 3 * names.length, 'every path up: probed at the first poll');
  // every probe answered: a clean verdict per path, told to the peer at once
  for (const [path, probe] of probes) messages$.next({ path, pathName: names[path]!, payload: firewallProbeAnswer(probe)!, atMs: 0 });
  assert.equal(verdicts.map(([p]) => p), [0, 1, 2]);
  verdicts.length = 0;
  for (let k = 1; k < VERDICT_REPEAT_TICKS; k++) fd.poll();
  assert.equal(verdicts, [], 'not yet repeated');
  fd.poll();
  assert.equal(verdicts, [[0, true], [1, true], [2, true]], 'the three repeats inside the poll\'s batch');
  fd.stop();
});

test.run();
