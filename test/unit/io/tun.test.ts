/**
 * TUN I/O through the native addon. The namespace cases need root, ip, setpriv and unshare (otherwise
 * they count as skipped: test/support/prerequisites.ts); each creates its own network namespace
 * (svrt-tun-<pid>-<n>), runs dist/test/support/tun-echo.js inside it and deletes the namespace by
 * exact name afterwards. Addresses are in 198.18.0.0/15 and exist only inside those namespaces.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { isSvrError } from '../../../src/errors.js';
import { loadNative } from '../../../src/io/tun/native.js';
import { TUN_F_CSUM, TunDevice } from '../../../src/io/tun/tun-device.js';
import { PacketInfo, parsePacket } from '../../../src/packet/ip.js';
import { verifyL4Checksum } from '../../../src/packet/rewrite.js';
import { DST_PORT, LOCAL_ADDR, payloadFor, REMOTE_ADDR, SRC_PORT } from '../../support/tun-fixture.js';
import { inNetns, runNodeHelper, type HelperRun } from '../../support/netns-helper.js';
import { requires } from '../../support/prerequisites.js';

const HELPER = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'support', 'tun-echo.js');
const withNetns = <T>(fn: (ns: string) => Promise<T>): Promise<T> => inNetns('tun', fn);
const runHelper = (ns: string, mode: string, args: object, prefix: string[] = []): Promise<HelperRun> => runNodeHelper(HELPER, ns, mode, args, prefix);

function ipv4(addr: string): number[] {
  return addr.split('.').map(Number);
}

function checksumOk(b: Buffer, off: number, len: number): boolean {
  let sum = 0;
  for (let i = 0; i < len; i += 2) sum += (b[off + i]! << 8) | b[off + i + 1]!;
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return sum === 0xffff;
}

/** Checks that `pkt` (from offset `at`) is the IPv4/UDP datagram i sent by the helper. */
function assertSentPacket(pkt: Buffer, at: number, i: number): void {
  const payload = payloadFor(i);
  assert.is(pkt[at]! >> 4, 4, `packet ${i}: IPv4`);
  const ihl = (pkt[at]! & 0x0f) * 4;
  assert.is(pkt.length - at, ihl + 8 + payload.length, `packet ${i}: length`);
  assert.is(pkt.readUInt16BE(at + 2), pkt.length - at, `packet ${i}: IP total length`);
  assert.is(pkt[at + 9], 17, `packet ${i}: UDP`);
  assert.ok(checksumOk(pkt, at, ihl), `packet ${i}: IP header checksum`);
  assert.equal([...pkt.subarray(at + 12, at + 16)], ipv4(LOCAL_ADDR), `packet ${i}: source`);
  assert.equal([...pkt.subarray(at + 16, at + 20)], ipv4(REMOTE_ADDR), `packet ${i}: destination`);
  assert.is(pkt.readUInt16BE(at + ihl), SRC_PORT, `packet ${i}: source port`);
  assert.is(pkt.readUInt16BE(at + ihl + 2), DST_PORT, `packet ${i}: destination port`);
  assert.is(pkt.readUInt16BE(at + ihl + 4), 8 + payload.length, `packet ${i}: UDP length`);
  assert.ok(pkt.subarray(at + ihl + 8).equals(payload), `packet ${i}: payload`);
}

test('loadNative names the fix when the addon is not built', () => {
  const dir = mkdtempSync(join(tmpdir(), 'svrt-native-'));
  try {
    loadNative(dir);
    assert.unreachable('loadNative should throw');
  } catch (e) {
    assert.ok(isSvrError(e, 'SVR_ERR_NATIVE_MISSING'), String(e));
    assert.match((e as Error).message, 'npx svr setup');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('open rejects a name longer than 15 bytes and bad options before any system call', () => {
  try {
    TunDevice.open({ name: 'svrt-much-too-long' });
    assert.unreachable('open should throw');
  } catch (e) {
    assert.ok(isSvrError(e, 'SVR_ERR_IO_TUN_OPEN'), String(e));
    assert.match((e as Error).message, 'longer than 15 bytes');
    assert.match((e as Error).message, 'svrt-much-too-long');
  }
  try {
    TunDevice.open({ name: 'svrt0', vnetHdr: true, snapLength: 2048 });
    assert.unreachable('open should throw');
  } catch (e) {
    assert.ok(isSvrError(e, 'SVR_ERR_IO_TUN_OPEN'), String(e));
    assert.match((e as Error).message, 'snapLength');
  }
});

const netnsTest = requires(import.meta.url);

assert.ok(existsSync(HELPER), `${HELPER} missing: build with tsc first`);

netnsTest('a burst of UDP datagrams arrives complete, in order and in batches', async () => {
  const count = 400;
  const run = await withNetns((ns) => runHelper(ns, 'rx', { count }));
  const r = run.result as {
    complete: boolean;
    sendErrors: number;
    batches: number[];
    packets: string[];
    stats: { rxPackets: number; rxBatches: number; rxTruncated: number };
    kernelTxDropped: number;
  };
  assert.is(r.sendErrors, 0, 'send errors');
  assert.ok(r.complete, `received ${r.packets.length} of ${count}; stderr ${run.stderr}`);
  assert.is(r.packets.length, count, 'exactly the datagrams sent');
  r.packets.forEach((b64, i) => assertSentPacket(Buffer.from(b64, 'base64'), 0, i));
  const sum = r.batches.reduce((a, b) => a + b, 0);
  assert.is(sum, count);
  assert.is(r.stats.rxPackets, count);
  assert.is(r.stats.rxBatches, r.batches.length);
  assert.is(r.stats.rxTruncated, 0);
  assert.is(r.kernelTxDropped, 0);
  assert.ok(Math.max(...r.batches) <= 64, 'batch size bound');
  assert.ok(r.batches.length < count / 4, `batched: ${r.batches.length} batches for ${count} packets`);
  console.log(`  note: ${count} packets in ${r.batches.length} batches (${(count / r.batches.length).toFixed(1)}/batch)`);
  assert.ok(run.exitAfterResultMs < 2000, `helper exited ${run.exitAfterResultMs} ms after close`);
});

for (const reader of ['poll', 'thread'] as const) {
  netnsTest(`reader '${reader}': a burst arrives complete and in order`, async () => {
    const count = 400;
    const run = await withNetns((ns) => runHelper(ns, 'rx', { count, reader }));
    const r = run.result as { complete: boolean; packets: string[]; batches: number[]; stats: { rxModeSwitches: number } };
    assert.ok(r.complete, `received ${r.packets.length} of ${count}; stderr ${run.stderr}`);
    assert.is(r.packets.length, count);
    r.packets.forEach((b64, i) => assertSentPacket(Buffer.from(b64, 'base64'), 0, i));
    assert.is(r.stats.rxModeSwitches, 0, 'a fixed reader mode never switches');
  });
}

for (const offload of [false, true]) {
  netnsTest(`switching between poll and thread mode under traffic loses and reorders nothing${offload ? ' (offload)' : ''}`, async () => {
    const count = 2000;
    const run = await withNetns((ns) => runHelper(ns, 'switch', { count, offload }));
    const r = run.result as { complete: boolean; sendErrors: number; seqs: number[]; batchesIn: { poll: number; thread: number }; switches: number; kernelTxDropped: number };
    assert.is(r.sendErrors, 0);
    assert.ok(r.complete, `received ${r.seqs.length} + dropped ${r.kernelTxDropped} of ${count}; stderr ${run.stderr}`);
    assert.is(r.kernelTxDropped, 0, 'paced rounds of 20 fit the kernel queue');
    assert.equal(r.seqs, Array.from({ length: count }, (_, i) => i), 'every datagram once, in order');
    assert.is(r.switches, count / 20, 'one switch per round');
    assert.ok(r.batchesIn.poll > 0 && r.batchesIn.thread > 0, `batches in both modes: ${JSON.stringify(r.batchesIn)}`);
  });
}

netnsTest('poll mode after a quiet spell: the first read is delivered alone, the queued rest as batches, also when each batch takes 200 µs (SVR_TUN_ONE_READ=0: one batch)', async () => {
  const count = 40; // sent in one tick, so all are queued before the first read
  for (const [oneRead, holdUs] of [[true, 0], [true, 200], [false, 0]] as const) {
    const prefix = oneRead ? [] : ['env', 'SVR_TUN_ONE_READ=0'];
    const run = await withNetns((ns) => runHelper(ns, 'rx', { count, reader: 'poll', holdUs }, prefix));
    const r = run.result as { complete: boolean; packets: string[]; batches: number[] };
    assert.ok(r.complete, `received ${r.packets.length} of ${count}; stderr ${run.stderr}`);
    r.packets.forEach((b64, i) => assertSentPacket(Buffer.from(b64, 'base64'), 0, i));
    if (oneRead) {
      assert.is(r.batches[0], 1, `the first read goes alone: ${r.batches.join(',')}`);
      // a read that stopped after its first packet is followed by one to EAGAIN, however long the pass took
      assert.ok(r.batches.length <= count / 4, `the rest is batched (handler ${holdUs} µs a batch): ${r.batches.join(',')}`);
    } else {
      assert.ok(r.batches[0]! > 1, `SVR_TUN_ONE_READ=0: the first batch holds what was queued: ${r.batches.join(',')}`);
    }
  }
});

netnsTest('direct writes: small batches go out at once while the reader polls, through the writer thread otherwise, control batches at once in either mode; the reader and writer threads carry their names', async () => {
  const rounds = 100;
  const run = await withNetns((ns) => runHelper(ns, 'direct', { rounds }));
  type Phase = { txPackets: number; txDirect: number; txWakeups: number; txDrops: number };
  const r = run.result as { polling: Phase; threaded: Phase; control: Phase; received: number; outOfOrder: number; distinct: number; threads: string[] };
  assert.is(r.polling.txDirect, 4 * rounds, `polling: every packet written directly (${JSON.stringify(r.polling)}); stderr ${run.stderr}`);
  assert.is(r.polling.txWakeups, 0, 'no writer thread wake-up while writes are direct');
  assert.is(r.threaded.txDirect, r.polling.txDirect, 'reader thread mode: nothing direct');
  assert.ok(r.threaded.txWakeups > 0, 'the writer thread did the writes');
  assert.is(r.threaded.txPackets, 8 * rounds);
  assert.is(r.threaded.txDrops, 0);
  // control batches of 40 (two io_uring_enter each) while the reader thread reads: written directly, no wake-up
  assert.is(r.control.txDirect - r.threaded.txDirect, 40 * rounds, `control: every packet written directly (${JSON.stringify(r.control)})`);
  assert.is(r.control.txWakeups, r.threaded.txWakeups, 'control: no writer thread wake-up');
  assert.is(r.control.txPackets, 48 * rounds);
  assert.is(r.control.txDrops, 0);
  assert.is(r.received, 48 * rounds);
  assert.is(r.distinct, 48 * rounds);
  assert.is(r.outOfOrder, 0);
  assert.ok(r.threads.includes('svr-tun-read') && r.threads.includes('svr-tun-write'), `the reader and writer threads are named: ${r.threads.join(', ')}`);
});

netnsTest('back-pressure: a slow handler keeps its buffers intact and the kernel counts the drops', async () => {
  const count = 3000;
  const run = await withNetns((ns) => runHelper(ns, 'slow', { count, holdMs: 3 }));
  const r = run.result as {
    complete: boolean;
    sendErrors: number;
    received: number;
    seqs: number[];
    changedWhileHeld: number;
    kernelTxDropped: number;
    stats: { rxPackets: number; rxBatches: number };
  };
  assert.is(r.sendErrors, 0);
  assert.ok(r.complete, `received ${r.received} + dropped ${r.kernelTxDropped} of ${count}; stderr ${run.stderr}`);
  assert.is(r.changedWhileHeld, 0, 'the reader thread wrote into a buffer JS still held');
  assert.ok(r.kernelTxDropped > 0, 'the burst overflowed the kernel queue (txqueuelen 1000)');
  assert.is(r.received + r.kernelTxDropped, count, 'every packet was either delivered or counted as dropped by the kernel');
  for (let i = 1; i < r.seqs.length; i++) assert.ok(r.seqs[i]! > r.seqs[i - 1]!, `in order at ${i}`);
  assert.is(r.stats.rxPackets, r.received);
  assert.ok(r.stats.rxBatches * 16 >= r.received);
  console.log(`  note: slow handler: ${r.received} delivered in ${r.stats.rxBatches} batches, ${r.kernelTxDropped} dropped by the kernel`);
});

netnsTest('vnetHdr: each packet starts with a 10-byte virtio_net_hdr', async () => {
  const count = 20;
  const run = await withNetns((ns) => runHelper(ns, 'rx', { count, vnetHdr: true }));
  const r = run.result as { complete: boolean; packets: string[] };
  assert.ok(r.complete, run.stderr);
  assert.is(r.packets.length, count);
  r.packets.forEach((b64, i) => {
    const pkt = Buffer.from(b64, 'base64');
    assert.is(pkt[1], 0, `packet ${i}: gso_type NONE`);
    assertSentPacket(pkt, 10, i);
  });
});

netnsTest('offload: partial UDP checksums from a local socket arrive completed, without a vnet header', async () => {
  const count = 50;
  const run = await withNetns((ns) => runHelper(ns, 'rx', { count, offload: true }));
  const r = run.result as { complete: boolean; packets: string[]; offloadFlags: number; stats: { rxOffloadErrors: number; rxSuperPackets: number } };
  assert.ok(r.complete, run.stderr);
  assert.is(r.offloadFlags & TUN_F_CSUM, TUN_F_CSUM, 'TUNSETOFFLOAD with TUN_F_CSUM');
  const pi = new PacketInfo();
  r.packets.forEach((b64, i) => {
    const pkt = Buffer.from(b64, 'base64');
    assertSentPacket(pkt, 0, i);
    assert.is(parsePacket(pkt, 0, pkt.length, pi), 0);
    assert.ok(verifyL4Checksum(pkt, pi), `packet ${i}: UDP checksum completed`);
    assert.is.not(pkt.readUInt16BE(26), 0, `packet ${i}: a UDP checksum is present`);
  });
  assert.is(r.stats.rxOffloadErrors, 0);
  assert.is(r.stats.rxSuperPackets, 0);
});

for (const offload of [false, true]) {
netnsTest(`echo${offload ? ' (offload)' : ''}: packets written back with writeBatch reach the UDP socket`, async () => {
  const count = 200;
  const run = await withNetns((ns) => runHelper(ns, 'echo', { count, offload }));
  const r = run.result as {
    complete: boolean;
    sendErrors: number;
    echoes: { payload: string; address: string; port: number }[];
    written: number;
    nonUdp: number;
    stats: { rxPackets: number; rxBatches: number; txPackets: number; txDrops: number };
  };
  assert.is(r.sendErrors, 0);
  assert.ok(r.complete, `echoed ${r.echoes.length} of ${count}; stderr ${run.stderr}`);
  assert.is(r.echoes.length, count);
  r.echoes.forEach((e, i) => {
    assert.is(e.address, REMOTE_ADDR);
    assert.is(e.port, DST_PORT);
    assert.ok(Buffer.from(e.payload, 'base64').equals(payloadFor(i)), `echo ${i} payload`);
  });
  assert.is(r.written, count);
  assert.is(r.stats.txPackets, count);
  assert.is(r.stats.txDrops, 0);
  assert.ok(r.stats.rxBatches < count, 'batched');
  assert.ok(run.exitAfterResultMs < 2000, `helper exited ${run.exitAfterResultMs} ms after close`);
});
}

netnsTest('multiQueue: two queues of one device share the flows', async () => {
  const run = await withNetns((ns) => runHelper(ns, 'mq', { count: 256, flows: 32 }));
  const r = run.result as { names: string[]; complete: boolean; sent: number; distinct: number; perQueue: number[] };
  assert.equal(r.names, ['svrt0', 'svrt0']);
  assert.ok(r.complete, `got ${r.distinct} of ${r.sent}; stderr ${run.stderr}`);
  assert.is(r.distinct, r.sent);
  assert.is(r.perQueue[0]! + r.perQueue[1]!, r.sent);
  assert.ok(r.perQueue[0]! > 0 && r.perQueue[1]! > 0, `both queues used: ${r.perQueue.join('/')}`);
});

netnsTest('errors: busy name, flag mismatch, no permission, no /dev/net/tun', async () => {
  await withNetns(async (ns) => {
    const busy = (await runHelper(ns, 'error', { name: 'svrt1', first: { name: 'svrt1' } })).result;
    assert.is(busy.code, 'SVR_ERR_IO_TUN_OPEN');
    assert.match(String(busy.message), 'svrt1');
    assert.match(String(busy.message), 'Device or resource busy');

    const mismatch = (await runHelper(ns, 'error', { name: 'svrt2', first: { name: 'svrt2', multiQueue: true } })).result;
    assert.is(mismatch.code, 'SVR_ERR_IO_TUN_OPEN');
    assert.match(String(mismatch.message), 'Invalid argument');

    const kernelName = (await runHelper(ns, 'error', { name: 'svrt%d' })).result;
    assert.is(kernelName.ok, true);
    assert.is(kernelName.name, 'svrt0', 'the kernel fills in %d');

    const perm = (await runHelper(ns, 'error', { name: 'svrt3' }, ['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups'])).result;
    assert.is(perm.code, 'SVR_ERR_IO_TUN_PERM', JSON.stringify(perm));
    assert.match(String(perm.message), 'run as root or grant cap_net_admin');

    // A private mount namespace (inside the netns one) where /dev/net is an empty tmpfs.
    const hide = ['unshare', '--mount', '--propagation', 'private', 'sh', '-c', 'mount -t tmpfs tmpfs /dev/net && exec "$0" "$@"'];
    const missing = (await runHelper(ns, 'error', { name: 'svrt4' }, hide)).result;
    assert.is(missing.code, 'SVR_ERR_IO_TUN_MISSING', JSON.stringify(missing));
    assert.match(String(missing.message), '/dev/net/tun');
  });
});

netnsTest('close() twice is safe, removes the link, and the process exits by itself', async () => {
  const run = await withNetns((ns) => runHelper(ns, 'close', {}));
  const r = run.result as { got: number; closed: boolean; linkGone: boolean; afterClose: string };
  assert.is(r.got, 10);
  assert.ok(r.closed);
  assert.ok(r.linkGone, 'the non-persistent TUN link disappears with its last fd');
  assert.is(r.afterClose, 'SVR_ERR_IO_PORT');
  assert.is(run.code, 0);
  assert.ok(run.exitAfterResultMs < 1000, `helper exited ${run.exitAfterResultMs} ms after close`);
});

netnsTest('writeBatch errors are coded, say how far the batch got and hint at the cause', async () => {
  const run = await withNetns((ns) => runHelper(ns, 'write-errors', {}));
  const r = run.result as {
    down: { code: string; message: string; details: { written: number; index: number } };
    mixed: { code: string; message: string; details: { written: number; index: number } };
    range: string;
    stats: { txPackets: number; txDrops: number };
  };
  assert.is(r.down.code, 'SVR_ERR_IO_PORT');
  assert.match(r.down.message, 'Input/output error');
  assert.match(r.down.message, 'ip link set dev svrt0 up');
  assert.is(r.mixed.code, 'SVR_ERR_IO_PORT');
  assert.match(r.mixed.message, 'at packet 1 of 2');
  assert.is(r.mixed.details.written, 1);
  assert.is(r.mixed.details.index, 1);
  assert.is(r.range, 'RangeError');
  assert.is(r.stats.txPackets, 1);
  assert.is(r.stats.txDrops, 0);
});

netnsTest("writer 'thread': write errors are recorded by the thread (txErrors, lastWriteError), not thrown", async () => {
  const run = await withNetns((ns) => runHelper(ns, 'write-errors', { writer: 'thread' }));
  const r = run.result as {
    down: { written?: number };
    downRecorded: { errors: number; code: string; message: string; errno: number };
    mixed: { written?: number };
    mixedRecorded: { errors: number; code: string; message: string; errno: number };
    range: string;
    stats: { txPackets: number; txDrops: number; txErrors: number };
  };
  assert.is(r.down.written, 1, 'queued, not thrown');
  assert.is(r.downRecorded.errors, 1);
  assert.is(r.downRecorded.code, 'SVR_ERR_IO_PORT');
  assert.match(r.downRecorded.message, 'Input/output error');
  assert.match(r.downRecorded.message, 'ip link set dev svrt0 up');
  assert.is(r.mixed.written, 2);
  assert.is(r.mixedRecorded.errors, 2);
  assert.match(r.mixedRecorded.message, 'Invalid argument');
  assert.is(r.range, 'RangeError');
  assert.is(r.stats.txPackets, 1, 'the good packet went out');
  assert.is(r.stats.txDrops, 2, 'the two failed writes are drops');
  assert.is(r.stats.txErrors, 2);
});

// The writer thread hands up to 32 writes to one io_uring_enter (native/tun-uring.c); SVR_TUN_URING=0: one writev each.
// SVR_TUN_WRITE_GATHER_US: the writer thread of a busy queue sleeps before its next pass (native/tun-gather.h).
for (const [writer, offload, env] of [
  ['thread', false, ''],
  ['thread', true, ''],
  ['thread', false, 'SVR_TUN_URING=0'],
  ['thread', true, 'SVR_TUN_WRITE_GATHER_US=1000'],
  ['sync', false, ''],
] as const) {
  netnsTest(`writer '${writer}'${offload ? ' (offload)' : ''}${env === '' ? '' : `, ${env}`}: a burst of 100k datagrams reaches the socket in order`, async () => {
    const count = 100_000;
    const uring = env !== 'SVR_TUN_URING=0';
    const run = await withNetns((ns) => runHelper(ns, 'order', { count, writer, offload }, env === '' ? [] : ['env', env]));
    const r = run.result as {
      complete: boolean;
      queued: number;
      ringFull: number;
      received: number;
      outOfOrder: number;
      distinct: number;
      rcvbufErrors: number;
      pushMs: number;
      maxPending: number;
      stats: { txPackets: number; txDrops: number; txQueueDrops: number; txWrites: number; txWakeups: number };
    };
    assert.ok(r.complete, `${JSON.stringify({ ...r, stats: r.stats })}; stderr ${run.stderr}`);
    assert.is(r.queued, count);
    assert.is(r.stats.txPackets, count, 'every datagram was written');
    assert.is(r.stats.txDrops, 0);
    assert.is(r.outOfOrder, 0, 'in order');
    assert.is(r.distinct, r.received, 'no duplicates');
    assert.is(r.received + r.rcvbufErrors, count, 'every datagram reached the socket or was counted by its full buffer');
    assert.ok(r.received > 0);
    if (writer === 'thread') assert.ok(r.stats.txWakeups < count / 10, `woken per batch at most, not per packet: ${r.stats.txWakeups}`);
    console.log(
      `  note: ${writer}${offload ? ' offload' : ''}${uring ? '' : ' (no io_uring)'}: ${count} queued in ${r.pushMs.toFixed(0)} ms, ${r.received} received in order, ${r.rcvbufErrors} dropped by the socket buffer` +
        (writer === 'thread' ? `, ${r.stats.txWakeups} wake-ups, max ${r.maxPending} pending` : ''),
    );
  });
}

// SVR_TUN_READ_GATHER_US: the reader thread of a busy queue sleeps until the window after its last batch.
for (const offload of [false, true]) {
  netnsTest(`reader 'thread', SVR_TUN_READ_GATHER_US=1000${offload ? ' (offload)' : ''}: a steady stream arrives in order, in fuller batches`, async () => {
    const count = 1500;
    const run = await withNetns((ns) => runHelper(ns, 'gather', { count, gapUs: 0, offload }, ['env', 'SVR_TUN_READ_GATHER_US=1000']));
    const r = run.result as { exit: number; complete: boolean; seqs: number[]; batches: number[]; kernelTxDropped: number; ms: number };
    assert.is(r.exit, 0, `sender exit; stderr ${run.stderr}`);
    assert.ok(r.complete, `received ${r.seqs.length} + dropped ${r.kernelTxDropped} of ${count}; stderr ${run.stderr}`);
    assert.ok(r.seqs.every((x, i) => i === 0 || x > r.seqs[i - 1]!), 'in order, none twice');
    assert.ok(r.seqs.length > count / 2, `most arrived: ${r.seqs.length} (the kernel dropped ${r.kernelTxDropped})`);
    assert.ok(r.batches.length <= r.seqs.length / 4, `fuller batches: ${r.batches.length} for ${r.seqs.length} packets`);
    console.log(`  note: ${r.seqs.length} packets in ${r.batches.length} batches (${(r.seqs.length / r.batches.length).toFixed(1)}/batch), sent in ${r.ms.toFixed(0)} ms`);
  });
}

// setReadGather (src/control/wan-gather.ts: a hub's wan queues of path control): the window changed while the reader runs.
netnsTest("reader 'thread', SVR_TUN_READ_GATHER_US=0: setReadGather(1000) on the running reader gives fuller batches; setReadGather(undefined) the env's window again", async () => {
  const count = 1500;
  const runs: { seqs: number[]; batches: number[] }[] = [];
  for (const gatherBack of [false, true]) {
    const run = await withNetns((ns) => runHelper(ns, 'gather', { count, gapUs: 0, gatherUs: 1000, gatherBack }, ['env', 'SVR_TUN_READ_GATHER_US=0']));
    const r = run.result as { exit: number; complete: boolean; seqs: number[]; batches: number[]; kernelTxDropped: number };
    assert.is(r.exit, 0, `sender exit; stderr ${run.stderr}`);
    assert.ok(r.complete, `received ${r.seqs.length} + dropped ${r.kernelTxDropped} of ${count}; stderr ${run.stderr}`);
    assert.ok(r.seqs.every((x, i) => i === 0 || x > r.seqs[i - 1]!), 'in order, none twice');
    runs.push(r);
  }
  const [on, off] = runs as [{ seqs: number[]; batches: number[] }, { seqs: number[]; batches: number[] }];
  const per = (r: { seqs: number[]; batches: number[] }): number => r.seqs.length / r.batches.length;
  assert.ok(on.batches.length <= on.seqs.length / 4, `fuller batches at 1000 µs: ${on.batches.length} for ${on.seqs.length} packets`);
  assert.ok(per(on) >= 1.5 * per(off), `the window makes the difference: ${per(on).toFixed(1)} packets a batch against ${per(off).toFixed(1)} once set back`);
  console.log(`  note: setReadGather(1000) ${per(on).toFixed(1)} packets a batch, set back to the env's 0 ${per(off).toFixed(1)}`);
});

netnsTest("writer 'thread': a full ring drops the rest of the call and counts it; what was queued is written in order", async () => {
  const count = 5000;
  const run = await withNetns((ns) => runHelper(ns, 'ring-full', { count, queue: 16 }));
  const r = run.result as {
    queued: number;
    immediate: { txQueueDrops: number; txDrops: number };
    stats: { txPackets: number; txDrops: number; txQueueDrops: number; txErrors: number };
    slots: number;
    received: number;
    outOfOrder: number;
    seqs: number[];
  };
  assert.is(r.slots, 16);
  assert.ok(r.queued >= 1 && r.queued <= 2 * r.slots, `queued ${r.queued}`);
  assert.is(r.immediate.txQueueDrops, count - r.queued, 'counted before writeBatch returned');
  assert.is(r.stats.txQueueDrops, count - r.queued);
  assert.is(r.stats.txPackets, r.queued, 'everything queued was written');
  assert.is(r.stats.txDrops, r.stats.txQueueDrops, 'txDrops includes the ring drops, nothing else');
  assert.is(r.stats.txErrors, 0);
  assert.equal(r.seqs, [...Array(r.queued).keys()], 'the first packets, in order');
});

netnsTest("writer 'thread': close() with packets pending flushes them; 100 open/write/close cycles leak no fds or memory", async () => {
  const run = await withNetns((ns) => runHelper(ns, 'close-pending', {}));
  const r = run.result as {
    first: { queued: number; stats: { txPackets: number; txDrops: number; txErrors: number } };
    fds0: number;
    fds1: number;
    rssGrowthMiB: number;
  };
  assert.is(r.first.queued, 2048);
  assert.is(r.first.stats.txPackets + r.first.stats.txDrops, r.first.queued, 'every queued packet was written or counted');
  assert.is(r.first.stats.txPackets, 2048, 'flushed at close');
  assert.is(r.fds1, r.fds0, 'no fd left open');
  assert.ok(r.rssGrowthMiB < 64, `RSS grew ${r.rssGrowthMiB.toFixed(1)} MiB over 100 cycles of a 4 MiB ring`);
  assert.is(run.code, 0);
  assert.ok(run.exitAfterResultMs < 2000, `helper exited ${run.exitAfterResultMs} ms after the result`);
});

netnsTest("a worker_thread that exits without close() (reader in poll or thread mode, packets queued) and a process.exit() with packets queued are clean", async () => {
  const w = await withNetns((ns) => runHelper(ns, 'worker-exit', {}));
  assert.equal(w.result.exits, [0, 0, 0], w.stderr);
  assert.is(w.result.reopened, true, `the worker's queue was closed at its exit; stderr ${w.stderr}`);
  assert.is(w.code, 0);
  const e = await withNetns((ns) => runHelper(ns, 'exit-pending', {}));
  assert.is(e.result.queued, 2048);
  assert.is(e.code, 0, e.stderr);
  assert.is(e.stderr, '');
});

netnsTest('a handler exception becomes an uncaught exception and the reader goes on', async () => {
  const run = await withNetns((ns) => runHelper(ns, 'throw', {}));
  const r = run.result as { uncaught: string[]; got: number };
  assert.equal(r.uncaught, ['handler failed on purpose']);
  assert.is(r.got, 6);
});

netnsTest('unref(): a running reader does not keep the process alive', async () => {
  const run = await withNetns((ns) => runHelper(ns, 'unref', {}));
  assert.is(run.result.got, 3);
  assert.is(run.code, 0);
  assert.ok(run.exitAfterResultMs < 1000, `helper exited ${run.exitAfterResultMs} ms after unref`);
});

netnsTest('a read error (link deleted) stops the reader and reaches onError once, coded', async () => {
  const run = await withNetns((ns) => runHelper(ns, 'read-error', {}));
  const errors = run.result.errors as { code: string; message: string }[];
  assert.is(errors.length, 1);
  assert.is(errors[0]!.code, 'SVR_ERR_IO_PORT');
  assert.match(errors[0]!.message, 'svrt0');
  assert.match(errors[0]!.message, 'the device was deleted');
  assert.is(run.code, 0);
});

netnsTest.after(() => {
  const left = spawnSync('ip', ['netns', 'list'], { encoding: 'utf8' }).stdout.split('\n').filter((l) => l.startsWith(`svrt-tun-${process.pid}-`));
  for (const l of left) spawnSync('ip', ['netns', 'del', l.split(' ')[0]!]);
});

test.run();
