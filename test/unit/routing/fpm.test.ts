/**
 * FPM and netlink decoding against golden bytes: what FRR 8.4's zebra (`-M dplane_fpm_nl`, `no fpm
 * use-next-hop-groups`) sent for a connected /24, a static route via a gateway, a static blackhole and an
 * IPv6 connected /64 (captured from a real zebra in a namespace). Then malformed input: every broken
 * length is a counted problem, never a throw; a bad FPM header closes the connection.
 */
import * as assert from 'uvu/assert';
import { test } from 'uvu';
import { connect } from 'node:net';
import { FpmFramer, FpmListener } from '../../../src/routing/fpm.js';
import { decodeNetlink, RTN_BLACKHOLE, type Decoded, type RouteMessage } from '../../../src/routing/netlink.js';
import { waitFor } from '../../support/config.js';

const GOLDEN = Buffer.from(
  '01010038340000001800010500000000ad1ea78302180000fe0200010000000008000100c612460008000600140000000800040003000000' +
  '010100403c0000001800010500000000ad1ea78302180000fec400010000000008000100c6124d00080006001400000008000500c61246010800040003000000' +
  '010100302c0000001800010500000000ad1ea78302180000fec400060000000008000100c6124e000800060014000000' +
  '01010044400000001800010400000000ad1ea7830a400000fe0200010000000014000100fe80000000000000000000000000000008000600140000000800040003000000',
  'hex',
);

function frames(bytes: Uint8Array, chunks: number[] = [bytes.length]): Uint8Array[] {
  const out: Uint8Array[] = [];
  const framer = new FpmFramer((p) => out.push(Uint8Array.from(p)));
  let at = 0;
  for (const n of chunks) {
    assert.ok(framer.push(bytes.subarray(at, at + n)));
    at += n;
  }
  return out;
}

const routes = (ds: Decoded[]): RouteMessage[] => ds.map((d) => (d.kind === 'route' ? d.route : assert.unreachable(JSON.stringify(d)) as never));

test('golden: four routes zebra sent over FPM', () => {
  const got = frames(GOLDEN).flatMap((f) => routes(decodeNetlink(f, 0, f.length)));
  assert.equal(got, [
    { op: 'add', family: 4, prefix: '198.18.70.0/24', table: 254, protocol: 'connected', type: 1, nextHops: [{ ifindex: 3 }], metric: 20 },
    { op: 'add', family: 4, prefix: '198.18.77.0/24', table: 254, protocol: 'static', type: 1, nextHops: [{ gateway: '198.18.70.1', ifindex: 3 }], metric: 20 },
    { op: 'add', family: 4, prefix: '198.18.78.0/24', table: 254, protocol: 'static', type: RTN_BLACKHOLE, nextHops: [], metric: 20 },
    { op: 'add', family: 6, prefix: 'fe80::/64', table: 254, protocol: 'connected', type: 1, nextHops: [{ ifindex: 3 }], metric: 20 },
  ]);
});

test('golden: the same stream cut into 1-byte and odd chunks gives the same frames', () => {
  const whole = frames(GOLDEN).map((f) => Buffer.from(f).toString('hex'));
  assert.equal(frames(GOLDEN, Array(GOLDEN.length).fill(1)).map((f) => Buffer.from(f).toString('hex')), whole);
  assert.equal(frames(GOLDEN, [3, 50, 7, 100, GOLDEN.length - 160]).map((f) => Buffer.from(f).toString('hex')), whole);
});

test('malformed netlink: each broken length or size is a problem, the rest of the frame is not trusted', () => {
  const first = frames(GOLDEN)[1]!; // the static route via a gateway, 60 bytes
  const cases: [string, (b: Buffer) => void, RegExp][] = [
    ['nlmsg_len too big', (b) => b.writeUInt32LE(61, 0), /nlmsg_len 61/],
    ['nlmsg_len too small', (b) => b.writeUInt32LE(15, 0), /nlmsg_len 15/],
    ['family', (b) => (b[16] = 7), /address family 7/],
    ['dst_len', (b) => (b[17] = 33), /rtm_dst_len 33/],
    ['rta_len past the end', (b) => b.writeUInt16LE(200, 28), /rta_len 200/],
    ['rta_len below 4', (b) => b.writeUInt16LE(2, 28), /rta_len 2/],
    ['RTA_DST size', (b) => b.writeUInt16LE(7, 28), /RTA_DST of 3 bytes/],
    ['RTA_GATEWAY size', (b) => b.writeUInt16LE(6, 44), /RTA_GATEWAY of 2 bytes/],
  ];
  for (const [what, mutate, why] of cases) {
    const b = Buffer.from(first);
    mutate(b);
    const d = decodeNetlink(b, 0, b.length);
    assert.is(d[0]!.kind, 'malformed', what);
    assert.match((d[0] as { why: string }).why, why, what);
  }
  // truncated: a header cut short
  assert.is(decodeNetlink(first, 0, 10)[0]!.kind, 'malformed');
  // a message type that is not a route is ignored, not an error
  const other = Buffer.from(first);
  other.writeUInt16LE(104, 4); // RTM_NEWNEXTHOP
  assert.equal(decodeNetlink(other, 0, other.length), [{ kind: 'ignored', type: 104 }]);
});

test('random bytes never throw', () => {
  let seed = 7;
  const next = (): number => ((seed = (seed * 1103515245 + 12345) >>> 0) >>> 16) & 0xff;
  for (let i = 0; i < 2000; i++) {
    const b = Uint8Array.from({ length: 16 + (next() % 80) }, next);
    // a plausible header half the time, so the attribute walker is reached
    if (i % 2 === 0) Buffer.from(b.buffer).writeUInt32LE(b.length, 0);
    if (i % 2 === 0) Buffer.from(b.buffer).writeUInt16LE(24, 4);
    for (const d of decodeNetlink(b, 0, b.length)) assert.ok(['route', 'ignored', 'malformed'].includes(d.kind));
  }
});

test('FPM framer: a bad header stops the stream with a reason', () => {
  const framer = new FpmFramer(() => {});
  assert.not.ok(framer.push(Uint8Array.from([2, 1, 0, 8, 0, 0, 0, 0])));
  assert.match(framer.problem!, /version 2/);
  const short = new FpmFramer(() => {});
  assert.not.ok(short.push(Uint8Array.from([1, 1, 0, 3])));
});

test('FPM listener over TCP: routes arrive in batches, a malformed stream is counted and closed', async () => {
  const got: RouteMessage[] = [];
  const disconnects: string[] = [];
  const listener = new FpmListener({ port: 0, onRoutes: (r) => got.push(...r), onDisconnect: (why) => disconnects.push(why) });
  await listener.listen();
  const port = listener.port;
  const send = (bytes: Uint8Array): Promise<void> => new Promise((resolve) => {
    const s = connect(port, '127.0.0.1', () => s.end(bytes));
    s.on('close', () => resolve());
    s.on('error', () => resolve());
  });
  await send(GOLDEN);
  await waitFor('the first disconnect', () => disconnects.length === 1);
  assert.is(got.length, 4);
  assert.is(listener.counters.routesAdded, 4);
  await send(Buffer.concat([GOLDEN.subarray(0, 56), Buffer.from([9, 9, 9, 9, 9, 9])]));
  await waitFor('the second disconnect (version 9)', () => disconnects.length === 2);
  assert.is(got.length, 5);
  assert.is(listener.counters.malformed, 1);
  assert.match(disconnects[1]!, /version 9/);
  await listener.close();
});

test.run();
