/**
 * Test helper for test/unit/io/tun.test.ts. Runs INSIDE a network namespace the test created
 * (`ip netns exec svrt-tun-<pid>-<n> node dist/test/support/tun-echo.js MODE JSON`), opens a TUN device
 * there, drives it, prints one line `RESULT <json>` and then exits by itself (no process.exit: exiting
 * on its own after close() is part of what is tested).
 *
 * Addresses (198.18.0.0/15, only inside that namespace): the TUN has 198.18.250.1/30 and
 * 198.18.251.0/24 is routed into it. Traffic goes from 198.18.250.1:SRC_PORT to 198.18.251.2:DST_PORT.
 *
 * Modes:
 *   rx    {count, vnetHdr?, offload?, reader?, holdUs?}  send a burst of `count` UDP datagrams, report every packet
 *                            the TUN got (holdUs: the handler spins that long per batch, like a router's pass)
 *   switch {count, offload?} send `count` datagrams in rounds of 20 while setReaderMode flips poll/thread every
 *                            round; report the sequence numbers seen, and the batches delivered in each mode
 *   slow  {count, holdMs}   reader 'thread', 2 buffers of 16, a handler that holds each batch holdMs: report whether a buffer
 *                            changed while held, the sequence numbers seen and the kernel's tx_dropped
 *   echo  {count, offload?}  swap src/dst address and port of each packet, writeBatch it back; report
 *                            what the UDP socket received
 *   mq    {count, flows}     two queues (IFF_MULTI_QUEUE), `flows` source ports; report per queue
 *   error {name, multiQueue?, vnetHdr?, first?}  try to open (after opening `first`, if given); report the error
 *   close {}                 start, receive a few packets, close() twice; report the link is gone
 *   write-errors {writer?}   writeBatch with the link down, then [good, not-IP], then out of bounds ('sync':
 *                            thrown; 'thread': what the writer thread recorded: txErrors, lastWriteError)
 *   order {count, offload?, writer?}  writeBatch `count` UDP datagrams (seq in the payload) to a local socket in
 *                            batches of 256, as fast as the ring takes them; report the order the socket saw them
 *   direct {rounds}          reader started; `rounds` writeBatch calls of 4 datagrams while it polls, then as many
 *                            after setReaderMode('thread'), then as many of 40 marked `control` (still 'thread'):
 *                            report txDirect and wake-ups after each phase, and the order the socket saw
 *   ring-full {count, queue}  one writeBatch of `count` datagrams into a ring of `queue` packets: report what was
 *                            queued, dropped and written
 *   close-pending {}         queue 2048 datagrams and close() at once; then 100 open/write/close cycles: report
 *                            stats, open fds and RSS before/after
 *   worker-exit {}           a worker_thread starts a reader (poll, thread, poll), queues datagrams and exits
 *                            without close(); then reopen the name
 *   exit-pending {}          queue datagrams, then process.exit() without close()
 *   throw {}                 the handler throws once: report the uncaught exception and later batches
 *   unref {}                 start, receive, unref() and never close: the process must exit anyway
 *   read-error {}            delete the link under a running reader: report what onError got
 *   busy-poll {windowUs, count, gapUs, threadQueue?}  reader 'poll', setBusyPoll(windowUs); a worker sends `count`
 *                            datagrams `gapUs` apart (plus a second TUN read by its thread if threadQueue): report
 *                            the sequence numbers seen, busyPollStats() differences and the longest gap between
 *                            the ticks of a 2 ms interval timer
 *   gather {count, gapUs, offload?, gatherUs?, gatherBack?}  reader 'thread'; a worker sends `count` datagrams `gapUs` apart: report
 *                            the sequence numbers seen and the batch sizes (SVR_TUN_READ_GATHER_US comes from the env;
 *                            gatherUs: setReadGather once the reader runs; gatherBack: then setReadGather(undefined))
 *   busy-reflect {windowUs, ms}  reader 'poll' with busy polling; each packet read is written back and the kernel
 *                            forwards it straight back in, for `ms`: report packets, cuts at 1 ms, longest timer gap
 */
import { createSocket, type Socket } from 'node:dgram';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { isMainThread, Worker, workerData } from 'node:worker_threads';
import { configureLink, runIp } from '../../src/io/tun/link.js';
import { TUN_F_CSUM, TunDevice, type TunOptions } from '../../src/io/tun/tun-device.js';
import { busyPollStats, setBusyPoll, type BusyPollStats } from '../../src/io/tun/busy-poll.js';
import { isSvrError } from '../../src/errors.js';
import { DST_PORT, LOCAL_ADDR, payloadFor, REMOTE_ADDR, SRC_PORT, TUN_NAME } from './tun-fixture.js';

type Json = Record<string, unknown>;

function result(r: Json): void {
  process.stdout.write(`RESULT ${JSON.stringify(r)}\n`);
}

async function openConfigured(opts: Omit<TunOptions, 'name'> = {}, queues = 1): Promise<TunDevice[]> {
  const devs: TunDevice[] = [];
  for (let q = 0; q < queues; q++) devs.push(TunDevice.open({ name: TUN_NAME, ...opts }));
  // No IPv6 on the test link: otherwise the kernel sends router solicitations / MLD reports into it.
  const v6 = `/proc/sys/net/ipv6/conf/${TUN_NAME}/disable_ipv6`;
  if (existsSync(v6)) writeFileSync(v6, '1');
  await configureLink(TUN_NAME, {
    mtu: 1500,
    txQueueLen: 1000,
    addresses: [`${LOCAL_ADDR}/30`],
    routes: [`${REMOTE_ADDR.replace(/\.\d+$/, '.0')}/24`],
  });
  return devs;
}

function bindSocket(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = createSocket('udp4');
    s.once('error', reject);
    s.bind(port, LOCAL_ADDR, () => {
      s.off('error', reject);
      resolve(s);
    });
  });
}

/** Sends datagrams first..first+count-1 to REMOTE_ADDR:port; resolves with the number of send errors. */
function sendAll(sock: Socket, count: number, port = DST_PORT, first = 0): Promise<number> {
  return new Promise((resolve) => {
    let done = 0;
    let errors = 0;
    for (let i = first; i < first + count; i++) {
      sock.send(payloadFor(i), port, REMOTE_ADDR, (err) => {
        if (err) errors++;
        if (++done === count) resolve(errors);
      });
    }
  });
}

function waitFor(cond: () => boolean, ms: number): Promise<boolean> {
  const until = Date.now() + ms;
  return new Promise((resolve) => {
    const tick = (): void => {
      if (cond()) resolve(true);
      else if (Date.now() > until) resolve(false);
      else setTimeout(tick, 5);
    };
    tick();
  });
}

function kernelTxDropped(): number {
  return Number(readFileSync(`/sys/class/net/${TUN_NAME}/statistics/tx_dropped`, 'utf8').trim());
}

async function modeRx(a: Json): Promise<void> {
  const count = Number(a.count);
  const vnetHdr = a.vnetHdr === true;
  const offload = a.offload === true;
  const [tun] = await openConfigured({ vnetHdr, offload, ...(a.reader !== undefined ? { reader: a.reader as TunOptions['reader'] } : {}) });
  if (vnetHdr && !offload) tun!.setOffload(TUN_F_CSUM);
  const batches: number[] = [];
  const packets: string[] = [];
  const holdNs = BigInt(Math.round(Number(a.holdUs ?? 0) * 1000));
  tun!.start((data, offsets, lengths, n) => {
    batches.push(n);
    for (const t = process.hrtime.bigint(); process.hrtime.bigint() - t < holdNs;);
    for (let i = 0; i < n; i++) {
      packets.push(Buffer.from(data.subarray(offsets[i]!, offsets[i]! + lengths[i]!)).toString('base64'));
    }
  });
  const sock = await bindSocket(SRC_PORT);
  const t0 = process.hrtime.bigint();
  const sendErrors = await sendAll(sock, count);
  const complete = await waitFor(() => packets.length >= count, 5000);
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  // Linger a little: more packets than sent would be a bug too.
  await waitFor(() => false, 50);
  result({ name: tun!.name, complete, sendErrors, batches, packets, stats: tun!.stats, kernelTxDropped: kernelTxDropped(), ms, offloadFlags: tun!.offloadFlags });
  sock.close();
  tun!.close();
}

/** Reads move between poll and thread mode while datagrams arrive: none may be lost or reordered by a switch. */
async function modeSwitch(a: Json): Promise<void> {
  const count = Number(a.count);
  const [tun] = await openConfigured({ reader: 'thread', offload: a.offload === true });
  const seqs: number[] = [];
  const batchesIn = { poll: 0, thread: 0 };
  tun!.start((data, offsets, _lengths, n) => {
    batchesIn[tun!.readerMode]++;
    for (let i = 0; i < n; i++) seqs.push(Buffer.from(data.buffer, data.byteOffset + offsets[i]! + 32, 4).readUInt32BE(0));
  });
  const sock = await bindSocket(SRC_PORT);
  let sendErrors = 0;
  for (let first = 0; first < count; first += 20) {
    tun!.setReaderMode(tun!.readerMode === 'poll' ? 'thread' : 'poll');
    sendErrors += await sendAll(sock, Math.min(20, count - first), DST_PORT, first);
    // switch once the round's first datagram was read in this round's mode (the rest may still be in
    // flight): a loaded machine can delay the kernel's delivery past one event-loop turn
    await waitFor(() => seqs.length > first, 1000);
  }
  const complete = await waitFor(() => seqs.length + kernelTxDropped() >= count, 5000);
  result({ complete, sendErrors, seqs, batchesIn, switches: tun!.stats.rxModeSwitches, kernelTxDropped: kernelTxDropped() });
  sock.close();
  tun!.close();
}

/** A handler slower than the traffic: buffers must not change while JS holds them; drops are the kernel's. */
async function modeSlow(a: Json): Promise<void> {
  const count = Number(a.count);
  const holdMs = Number(a.holdMs);
  const [tun] = await openConfigured({ buffers: 2, batchSize: 16, reader: 'thread' });
  const seqs: number[] = [];
  let changedWhileHeld = 0;
  const digest = (data: Uint8Array, offsets: Uint32Array, lengths: Uint32Array, n: number): number => {
    let h = 0;
    for (let i = 0; i < n; i++) {
      for (let j = offsets[i]!, end = j + lengths[i]!; j < end; j++) h = (h * 31 + data[j]!) | 0;
    }
    return h;
  };
  tun!.start((data, offsets, lengths, n) => {
    const before = digest(data, offsets, lengths, n);
    const until = Date.now() + holdMs;
    while (Date.now() < until); // hold the buffer while the reader thread keeps reading
    if (digest(data, offsets, lengths, n) !== before) changedWhileHeld++;
    for (let i = 0; i < n; i++) {
      const off = offsets[i]!;
      seqs.push(Buffer.from(data.buffer, data.byteOffset + off + 32, 4).readUInt32BE(0));
    }
  });
  const sock = await bindSocket(SRC_PORT);
  const sendErrors = await sendAll(sock, count);
  const complete = await waitFor(() => seqs.length + kernelTxDropped() >= count, 10_000);
  await waitFor(() => false, 50);
  result({ complete, sendErrors, received: seqs.length, seqs, changedWhileHeld, kernelTxDropped: kernelTxDropped(), stats: tun!.stats });
  sock.close();
  tun!.close();
}

async function modeEcho(a: Json): Promise<void> {
  const count = Number(a.count);
  const [tun] = await openConfigured({ offload: a.offload === true });
  const B = tun!.batchSize;
  const out = new Uint8Array(B * 2048);
  const outOffsets = new Uint32Array(B);
  const outLengths = new Uint32Array(B);
  for (let i = 0; i < B; i++) outOffsets[i] = i * 2048;
  let written = 0;
  let nonUdp = 0;
  tun!.start((data, offsets, lengths, n) => {
    let m = 0;
    for (let i = 0; i < n; i++) {
      const off = offsets[i]!;
      const len = lengths[i]!;
      if (len < 28 || data[off]! >> 4 !== 4 || data[off + 9] !== 17) {
        nonUdp++;
        continue;
      }
      const o = outOffsets[m]!;
      out.set(data.subarray(off, off + len), o);
      const ihl = (out[o]! & 0x0f) * 4;
      // Swap addresses and ports. Both checksums are sums over these fields, so they stay valid.
      for (let j = 0; j < 4; j++) {
        const t = out[o + 12 + j]!;
        out[o + 12 + j] = out[o + 16 + j]!;
        out[o + 16 + j] = t;
      }
      for (let j = 0; j < 2; j++) {
        const t = out[o + ihl + j]!;
        out[o + ihl + j] = out[o + ihl + 2 + j]!;
        out[o + ihl + 2 + j] = t;
      }
      outLengths[m] = len;
      m++;
    }
    written += tun!.writeBatch(out, outOffsets, outLengths, m);
  });
  const sock = await bindSocket(SRC_PORT);
  const echoes: { payload: string; address: string; port: number }[] = [];
  sock.on('message', (msg, rinfo) => {
    echoes.push({ payload: msg.toString('base64'), address: rinfo.address, port: rinfo.port });
  });
  // Rounds of 50: a burst of echoes larger than the socket's receive buffer (rmem_max) would be dropped
  // by the kernel before Node reads them.
  let sendErrors = 0;
  let complete = true;
  for (let sent = 0; sent < count && complete; ) {
    const n = Math.min(50, count - sent);
    sendErrors += await sendAll(sock, n, DST_PORT, sent);
    sent += n;
    complete = await waitFor(() => echoes.length >= sent, 5000);
  }
  await waitFor(() => false, 50);
  result({ complete, sendErrors, echoes, written, nonUdp, stats: tun!.stats });
  sock.close();
  tun!.close();
}

async function modeMq(a: Json): Promise<void> {
  const count = Number(a.count);
  const flows = Number(a.flows);
  const tuns = await openConfigured({ multiQueue: true }, 2);
  const perQueue = tuns.map(() => 0);
  const seen = new Set<string>();
  tuns.forEach((t, q) =>
    t.start((data, offsets, lengths, n) => {
      perQueue[q]! += n;
      for (let i = 0; i < n; i++) {
        const off = offsets[i]!;
        if (lengths[i]! < 36 || data[off + 9] !== 17) continue;
        const sport = (data[off + 20]! << 8) | data[off + 21]!;
        const seq = (data[off + 32]! << 24) | (data[off + 33]! << 16) | (data[off + 34]! << 8) | data[off + 35]!;
        seen.add(`${sport}/${seq}`);
      }
    }),
  );
  const socks: Socket[] = [];
  for (let f = 0; f < flows; f++) socks.push(await bindSocket(SRC_PORT + 10 + f));
  const per = Math.ceil(count / flows);
  const errs = await Promise.all(socks.map((s) => sendAll(s, per)));
  const total = per * flows;
  const complete = await waitFor(() => seen.size >= total, 5000);
  result({
    names: tuns.map((t) => t.name),
    complete,
    sent: total,
    sendErrors: errs.reduce((x, y) => x + y, 0),
    distinct: seen.size,
    perQueue,
    stats: tuns.map((t) => t.stats),
  });
  for (const s of socks) s.close();
  for (const t of tuns) t.close();
}

async function modeError(a: Json): Promise<void> {
  const held: TunDevice[] = [];
  try {
    if (typeof a.first === 'object' && a.first !== null) held.push(TunDevice.open(a.first as TunOptions));
    const t = TunDevice.open({ name: String(a.name), multiQueue: a.multiQueue === true, vnetHdr: a.vnetHdr === true });
    held.push(t);
    result({ ok: true, name: t.name });
  } catch (e) {
    if (isSvrError(e)) result({ ok: false, code: e.code, message: e.message });
    else result({ ok: false, code: 'NOT_SVR_ERROR', message: String(e) });
  } finally {
    for (const t of held) t.close();
  }
}

async function modeClose(): Promise<void> {
  const [tun] = await openConfigured({});
  let got = 0;
  tun!.start((_d, _o, _l, n) => {
    got += n;
  });
  const sock = await bindSocket(SRC_PORT);
  await sendAll(sock, 10);
  await waitFor(() => got >= 10, 5000);
  sock.close();
  tun!.close();
  tun!.close(); // a second close is a no-op
  let linkGone = false;
  try {
    await runIp(['link', 'show', 'dev', TUN_NAME]);
  } catch (e) {
    linkGone = isSvrError(e, 'SVR_ERR_IO_TUN_LINK');
  }
  let afterClose = '';
  try {
    tun!.writeBatch(new Uint8Array(1), new Uint32Array(1), new Uint32Array(1), 1);
  } catch (e) {
    afterClose = isSvrError(e) ? e.code : String(e);
  }
  result({ got, closed: tun!.closed, linkGone, afterClose, stats: tun!.stats });
}

/** writeBatch errors: link down (EIO), a packet that is not IP (EINVAL) after a good one. */
async function modeWriteErrors(a: Json): Promise<void> {
  const writer = a.writer === 'thread' ? 'thread' : 'sync';
  const tun = TunDevice.open({ name: TUN_NAME, writer });
  const good = Buffer.from('450000200000400040110000c612fb02c612fa019c419c40000c000041424344', 'hex');
  const data = new Uint8Array(4096);
  data.set(good, 0);
  data.set(good, 2048);
  data[2048] = 0; // version 0: the kernel refuses it
  const offsets = Uint32Array.of(0, 2048);
  const lengths = Uint32Array.of(good.length, good.length);
  const attempt = (count: number): Json => {
    try {
      return { written: tun.writeBatch(data, offsets, lengths, count) };
    } catch (e) {
      return isSvrError(e) ? { code: e.code, message: e.message, details: e.data } : { other: String(e) };
    }
  };
  const recorded = async (n: number): Promise<Json> => {
    await waitFor(() => tun.stats.txPackets + tun.stats.txDrops >= n, 5000);
    const e = tun.lastWriteError;
    return { errors: tun.stats.txErrors, code: e?.code, message: e?.message, errno: (e?.data as { errno?: number } | undefined)?.errno };
  };
  const down = attempt(1);
  const downRecorded = writer === 'thread' ? await recorded(1) : undefined;
  await configureLink(TUN_NAME, {});
  const mixed = attempt(2);
  const mixedRecorded = writer === 'thread' ? await recorded(3) : undefined;
  let range = '';
  try {
    tun.writeBatch(data, Uint32Array.of(4090), Uint32Array.of(32), 1);
  } catch (e) {
    range = e instanceof RangeError ? 'RangeError' : String(e);
  }
  result({ down, mixed, downRecorded, mixedRecorded, range, stats: tun.stats });
  tun.close();
}

/** Bytes of the datagrams built by fillDatagram: IPv4 (20) + UDP (8) + 'SVRT' + u32 sequence + filler. */
const DGRAM_LEN = 28 + 64;

/** IPv4/UDP datagram REMOTE_ADDR:DST_PORT -> LOCAL_ADDR:SRC_PORT with sequence `seq` at data[off]. */
function fillDatagram(data: Uint8Array, off: number, seq: number, src = REMOTE_ADDR, dst = LOCAL_ADDR): void {
  const b = Buffer.from(data.buffer, data.byteOffset + off, DGRAM_LEN);
  b.fill(0x5a);
  b.writeUInt8(0x45, 0);
  b.writeUInt8(0, 1);
  b.writeUInt16BE(DGRAM_LEN, 2);
  b.writeUInt32BE(0x40000000, 4); // id 0, DF
  b.writeUInt8(64, 8);
  b.writeUInt8(17, 9);
  b.writeUInt16BE(0, 10);
  Buffer.from(src.split('.').map(Number)).copy(b, 12);
  Buffer.from(dst.split('.').map(Number)).copy(b, 16);
  let sum = 0;
  for (let i = 0; i < 20; i += 2) sum += b.readUInt16BE(i);
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  b.writeUInt16BE(~sum & 0xffff, 10);
  b.writeUInt16BE(DST_PORT, 20);
  b.writeUInt16BE(SRC_PORT, 22);
  b.writeUInt16BE(DGRAM_LEN - 20, 24);
  b.writeUInt16BE(0, 26); // no UDP checksum (IPv4)
  b.write('SVRT', 28, 'latin1');
  b.writeUInt32BE(seq >>> 0, 32);
}

/** Udp RcvbufErrors of this namespace (/proc/net/snmp): datagrams the socket's full buffer dropped. */
function udpRcvbufErrors(): number {
  const lines = readFileSync('/proc/net/snmp', 'utf8').split('\n').filter((l) => l.startsWith('Udp: '));
  const names = lines[0]!.split(/\s+/);
  const values = lines[1]!.split(/\s+/);
  return Number(values[names.indexOf('RcvbufErrors')]);
}

/** A socket on LOCAL_ADDR:SRC_PORT recording the sequence numbers of fillDatagram packets in arrival order. */
async function seqSocket(): Promise<{ sock: Socket; seqs: number[]; state: { outOfOrder: number; last: number } }> {
  const sock = createSocket({ type: 'udp4', recvBufferSize: 8 << 20 });
  await new Promise<void>((resolve, reject) => {
    sock.once('error', reject);
    sock.bind(SRC_PORT, LOCAL_ADDR, () => resolve());
  });
  const seqs: number[] = [];
  const state = { outOfOrder: 0, last: -1 };
  sock.on('message', (msg) => {
    if (msg.length < 8 || msg.toString('latin1', 0, 4) !== 'SVRT') return;
    const seq = msg.readUInt32BE(4);
    if (seq <= state.last) state.outOfOrder++;
    state.last = seq;
    seqs.push(seq);
  });
  return { sock, seqs, state };
}

const yieldNow = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** A burst of `count` datagrams through writeBatch (batches of 256): the socket must see them in order. */
/** Small batches are written by writeBatch itself while the reader polls, through the ring otherwise. */
async function modeDirect(a: Json): Promise<void> {
  const rounds = Number(a.rounds);
  const [tun] = await openConfigured({ reader: 'poll' });
  tun!.start(() => undefined);
  const { sock, seqs, state } = await seqSocket();
  const data = new Uint8Array(40 * 128);
  const offsets = Uint32Array.from({ length: 40 }, (_, i) => i * 128);
  const lengths = new Uint32Array(40).fill(DGRAM_LEN);
  let next = 0;
  const phase = async (n = 4, control = false): Promise<Json> => {
    for (let r = 0; r < rounds; r++) {
      for (let i = 0; i < n; i++) fillDatagram(data, offsets[i]!, next++);
      tun!.writeBatch(data, offsets, lengths, n, control);
      await yieldNow();
    }
    await waitFor(() => seqs.length >= next, 5000);
    const st = tun!.stats;
    return { txPackets: st.txPackets, txDirect: st.txDirect, txWakeups: st.txWakeups, txDrops: st.txDrops };
  };
  const polling = await phase();
  tun!.setReaderMode('thread');
  const threaded = await phase();
  const control = await phase(40, true); // more than one io_uring_enter's 32 writes per call
  // the names native/tun.c and tun-write.c give their threads (top -H, the benchmark's per-thread CPU)
  const threads = readdirSync('/proc/self/task').map((t) => readFileSync(`/proc/self/task/${t}/comm`, 'utf8').trim());
  result({ polling, threaded, control, received: seqs.length, outOfOrder: state.outOfOrder, distinct: new Set(seqs).size, threads });
  sock.close();
  tun!.close();
}

async function modeOrder(a: Json): Promise<void> {
  const count = Number(a.count);
  const writer = a.writer === 'sync' ? 'sync' : 'thread';
  const [tun] = await openConfigured({ offload: a.offload === true, writer });
  const { sock, seqs, state } = await seqSocket();
  const rcvbuf0 = udpRcvbufErrors();
  const B = 256;
  const data = new Uint8Array(B * 128);
  const offsets = new Uint32Array(B);
  const lengths = new Uint32Array(B).fill(DGRAM_LEN);
  for (let i = 0; i < B; i++) offsets[i] = i * 128;
  let queued = 0;
  let ringFull = 0;
  const t0 = process.hrtime.bigint();
  let maxPending = 0;
  for (let sent = 0; sent < count; ) {
    const n = Math.min(B, count - sent);
    for (let i = 0; i < n; i++) fillDatagram(data, offsets[i]!, sent + i);
    const q = tun!.writeBatch(data, offsets, lengths, n);
    queued += q;
    if (q < n) ringFull++;
    sent += n;
    if (writer === 'thread') {
      // stay below the ring's size: this test is about order, ring-full drops have their own test
      for (;;) {
        const st = tun!.stats;
        const pending = queued - st.txPackets - (st.txDrops - st.txQueueDrops);
        maxPending = Math.max(maxPending, pending);
        if (pending <= tun!.writeQueuePackets - 2 * B) break;
        await yieldNow();
      }
    }
    await yieldNow(); // let the socket read
  }
  const pushMs = Number(process.hrtime.bigint() - t0) / 1e6;
  const complete = await waitFor(() => tun!.stats.txPackets + tun!.stats.txDrops >= count && seqs.length + udpRcvbufErrors() - rcvbuf0 >= count, 10_000);
  await waitFor(() => false, 50);
  result({
    complete,
    queued,
    ringFull,
    maxPending,
    pushMs,
    received: seqs.length,
    outOfOrder: state.outOfOrder,
    distinct: new Set(seqs).size,
    first: seqs.slice(0, 3),
    rcvbufErrors: udpRcvbufErrors() - rcvbuf0,
    stats: tun!.stats,
  });
  sock.close();
  tun!.close();
}

/** One writeBatch larger than a small ring: the excess is dropped and counted, the rest written in order. */
async function modeRingFull(a: Json): Promise<void> {
  const count = Number(a.count);
  const [tun] = await openConfigured({ writer: 'thread', writeQueuePackets: Number(a.queue) });
  const { sock, seqs, state } = await seqSocket();
  const data = new Uint8Array(count * 128);
  const offsets = new Uint32Array(count);
  const lengths = new Uint32Array(count).fill(DGRAM_LEN);
  for (let i = 0; i < count; i++) {
    offsets[i] = i * 128;
    fillDatagram(data, offsets[i]!, i);
  }
  const queued = tun!.writeBatch(data, offsets, lengths, count);
  const immediate = { ...tun!.stats };
  await waitFor(() => tun!.stats.txPackets + tun!.stats.txDrops >= count, 5000);
  await waitFor(() => seqs.length >= queued, 2000);
  await waitFor(() => false, 50);
  result({ queued, immediate, stats: tun!.stats, slots: tun!.writeQueuePackets, received: seqs.length, outOfOrder: state.outOfOrder, seqs });
  sock.close();
  tun!.close();
}

function fdCount(): number {
  return readdirSync('/proc/self/fd').length;
}

/** close() with a full ring: flushed (or counted), no crash; repeated cycles leak neither fds nor memory. */
async function modeClosePending(): Promise<void> {
  const cycle = (tun: TunDevice, n: number, size: number): { queued: number; stats: Json } => {
    const data = new Uint8Array(256 * 2048);
    const offsets = new Uint32Array(256);
    const lengths = new Uint32Array(256).fill(size);
    for (let i = 0; i < 256; i++) {
      offsets[i] = i * 2048;
      fillDatagram(data, offsets[i]!, i);
      data[offsets[i]! + 3] = size & 0xff; // IP length = size (the checksum no longer matters: the link is down)
      data[offsets[i]! + 2] = size >> 8;
    }
    let queued = 0;
    for (let b = 0; b < n; b++) queued += tun.writeBatch(data, offsets, lengths, 256);
    tun.close();
    return { queued, stats: { ...tun.stats } };
  };
  // first: a configured link, 2048 datagrams of 1400 B queued, close() at once: flushed, and it adds up
  const [tun] = await openConfigured({});
  const first = cycle(tun!, 8, 1400);
  // then 100 cycles on a fresh (down) link: every write fails with EIO, the flush is quick
  const fds0 = fdCount();
  const rss0 = process.memoryUsage().rss;
  for (let i = 0; i < 100; i++) cycle(TunDevice.open({ name: TUN_NAME }), 8, 1400);
  const fds1 = fdCount();
  const rss1 = process.memoryUsage().rss;
  result({ first, fds0, fds1, rssGrowthMiB: (rss1 - rss0) / 1048576 });
}

/** 8 writeBatch calls of the same 256 datagrams, as fast as the ring takes them: how many were queued. */
function queueDatagrams(tun: TunDevice): number {
  const data = new Uint8Array(256 * 128);
  const offsets = new Uint32Array(256);
  const lengths = new Uint32Array(256).fill(DGRAM_LEN);
  for (let i = 0; i < 256; i++) {
    offsets[i] = i * 128;
    fillDatagram(data, offsets[i]!, i);
  }
  let queued = 0;
  for (let b = 0; b < 8; b++) queued += tun.writeBatch(data, offsets, lengths, 256);
  return queued;
}

/** Worker side of worker-exit: open, queue packets, exit the worker without close(). */
async function workerChild(): Promise<void> {
  const reader = (workerData as { reader: 'poll' | 'thread' }).reader;
  const [tun] = await openConfigured({ reader });
  // a running reader too: in poll mode its uv_poll handle must be closed by the env teardown (async cleanup hook)
  tun!.start(() => undefined);
  const queued = queueDatagrams(tun!);
  process.stdout.write(`WORKER queued ${queued}\n`);
  process.exit(0); // ends this worker only; the env cleanup hooks stop the writer and close the fd
}

async function modeWorkerExit(): Promise<void> {
  const exits: number[] = [];
  for (const reader of ['poll', 'thread', 'poll']) {
    const w = new Worker(new URL(import.meta.url), { workerData: { mode: 'worker-child', reader } });
    exits.push(await new Promise<number>((resolve, reject) => {
      w.once('error', reject);
      w.once('exit', resolve);
    }));
  }
  // single-queue device: a second open fails with EBUSY if the worker's fd were still open
  let reopened = false;
  try {
    TunDevice.open({ name: TUN_NAME }).close();
    reopened = true;
  } catch (e) {
    reopened = false;
    process.stderr.write(`reopen: ${String(e)}\n`);
  }
  result({ exits, reopened });
}

/** Queue packets and exit at once: the exit hooks stop the writer thread; no crash, exit code 0. */
async function modeExitPending(): Promise<void> {
  const [tun] = await openConfigured({});
  const queued = queueDatagrams(tun!);
  result({ queued });
  process.exit(0);
}

/** An exception thrown by the handler becomes an uncaught exception; the reader goes on. */
async function modeThrow(): Promise<void> {
  const [tun] = await openConfigured({});
  const uncaught: string[] = [];
  process.on('uncaughtException', (e) => uncaught.push(e.message));
  let got = 0;
  tun!.start((_d, _o, _l, n) => {
    got += n;
    if (uncaught.length === 0) throw new Error('handler failed on purpose');
  });
  const sock = await bindSocket(SRC_PORT);
  await sendAll(sock, 1);
  await waitFor(() => uncaught.length > 0, 5000);
  await sendAll(sock, 5, DST_PORT, 1);
  await waitFor(() => got >= 6, 5000);
  result({ uncaught, got });
  sock.close();
  tun!.close();
}

/** unref(): a running reader no longer keeps the process alive (no close() at all). */
async function modeUnref(): Promise<void> {
  const [tun] = await openConfigured({});
  let got = 0;
  tun!.start((_d, _o, _l, n) => {
    got += n;
  });
  const sock = await bindSocket(SRC_PORT);
  await sendAll(sock, 3);
  await waitFor(() => got >= 3, 5000);
  sock.close();
  tun!.unref();
  result({ got });
}

/** The link is deleted under a running reader: onError gets a coded error once. */
async function modeReadError(): Promise<void> {
  const [tun] = await openConfigured({});
  const errors: Json[] = [];
  tun!.start(
    () => {},
    (e) => errors.push({ code: e.code, message: e.message }),
  );
  await runIp(['link', 'del', 'dev', TUN_NAME]);
  await waitFor(() => errors.length > 0, 5000);
  await waitFor(() => false, 50);
  tun!.close();
  result({ errors });
}

/** A 2 ms interval timer; stop() returns the longest time between two of its ticks (the event loop's stalls). */
function watchTimerGaps(): { stop(): number } {
  let last = performance.now();
  let max = 0;
  const timer = setInterval(() => {
    const now = performance.now();
    max = Math.max(max, now - last);
    last = now;
  }, 2);
  return { stop: () => (clearInterval(timer), max) };
}

/** Worker side of busy-poll: `count` datagrams, each sent, then `gapUs` of sleep. */
async function busySender(): Promise<void> {
  const { count, gapUs } = workerData as { count: number; gapUs: number };
  const sock = await bindSocket(SRC_PORT);
  const sleeper = new Int32Array(new SharedArrayBuffer(4));
  for (let i = 0; i < count; i++) {
    await new Promise<void>((resolve, reject) => sock.send(payloadFor(i), DST_PORT, REMOTE_ADDR, (e) => (e ? reject(e) : resolve())));
    Atomics.wait(sleeper, 0, 0, gapUs / 1000);
  }
  sock.close();
}

async function modeBusyPoll(a: Json): Promise<void> {
  const count = Number(a.count);
  const [tun] = await openConfigured({ reader: 'poll' });
  const other = a.threadQueue === true ? TunDevice.open({ name: 'svrt-thread', reader: 'thread' }) : undefined;
  other?.start(() => undefined);
  setBusyPoll(Number(a.windowUs));
  const seqs: number[] = [];
  tun!.start((data, offsets, lengths, n) => {
    for (let i = 0; i < n; i++) if (lengths[i]! >= 36) seqs.push(Buffer.from(data.buffer, data.byteOffset + offsets[i]! + 28, 8).readUInt32BE(4));
  });
  const gaps = watchTimerGaps();
  const before = busyPollStats();
  const w = new Worker(new URL(import.meta.url), { workerData: { mode: 'busy-sender', count, gapUs: Number(a.gapUs) } });
  const exit = await new Promise<number>((resolve, reject) => {
    w.once('error', reject);
    w.once('exit', resolve);
  });
  await waitFor(() => seqs.length >= count, 5000);
  const maxTimerGapMs = gaps.stop();
  const after = busyPollStats();
  const delta = (k: keyof BusyPollStats): number => after[k] - before[k];
  result({ exit, seqs, windowUs: after.windowUs, runs: delta('runs'), packets: delta('packets'), capped: delta('capped'), idleUs: delta('idleUs'), maxTimerGapMs, rxPackets: tun!.stats.rxPackets });
  tun!.close();
  other?.close();
}

/** A steady stream read by the reader thread: with a gather window, fewer and fuller batches, in order. */
async function modeGather(a: Json): Promise<void> {
  const count = Number(a.count);
  const [tun] = await openConfigured({ reader: 'thread', offload: a.offload === true });
  const seqs: number[] = [];
  const batches: number[] = [];
  tun!.start((data, offsets, lengths, n) => {
    batches.push(n);
    for (let i = 0; i < n; i++) if (lengths[i]! >= 36) seqs.push(Buffer.from(data.buffer, data.byteOffset + offsets[i]! + 28, 8).readUInt32BE(4));
  });
  if (a.gatherUs !== undefined) tun!.setReadGather(Number(a.gatherUs));
  if (a.gatherBack === true) tun!.setReadGather(undefined);
  const t0 = performance.now();
  const w = new Worker(new URL(import.meta.url), { workerData: { mode: 'busy-sender', count, gapUs: Number(a.gapUs) } });
  const exit = await new Promise<number>((resolve, reject) => {
    w.once('error', reject);
    w.once('exit', resolve);
  });
  const ms = performance.now() - t0;
  const complete = await waitFor(() => seqs.length + kernelTxDropped() >= count, 5000);
  result({ exit, complete, seqs, batches, kernelTxDropped: kernelTxDropped(), ms });
  tun!.close();
}

/**
 * Packets that never stop: each one read is written back, from and to addresses routed into the TUN, and the
 * kernel (forwarding on) sends it straight back in. Every poll finds a packet; busy polling must still let the
 * 2 ms timer and the 300 ms timeout run.
 */
async function modeBusyReflect(a: Json): Promise<void> {
  const [tun] = await openConfigured({ reader: 'poll' });
  for (const [k, v] of [['ip_forward', '1'], ['conf/all/send_redirects', '0'], [`conf/${TUN_NAME}/send_redirects`, '0']]) writeFileSync(`/proc/sys/net/ipv4/${k}`, v);
  setBusyPoll(Number(a.windowUs));
  const pkt = new Uint8Array(DGRAM_LEN);
  fillDatagram(pkt, 0, 0, '198.18.251.9', '198.18.251.3');
  const offsets = new Uint32Array(64);
  const lengths = new Uint32Array(64).fill(DGRAM_LEN);
  let reflecting = true;
  let seen = 0;
  tun!.start((_data, _offsets, _lengths, n) => {
    seen += n;
    if (reflecting) tun!.writeBatch(pkt, offsets, lengths, Math.min(n, 64));
  });
  const gaps = watchTimerGaps();
  const before = busyPollStats();
  tun!.writeBatch(pkt, offsets, lengths, 1);
  await new Promise((resolve) => setTimeout(resolve, Number(a.ms)));
  reflecting = false;
  await waitFor(() => false, 50);
  const maxTimerGapMs = gaps.stop();
  const after = busyPollStats();
  result({ seen, packets: after.packets - before.packets, capped: after.capped - before.capped, maxTimerGapMs });
  tun!.close();
}

const modes: Record<string, (a: Json) => Promise<void>> = {
  rx: modeRx,
  slow: modeSlow,
  direct: modeDirect,
  switch: modeSwitch,
  echo: modeEcho,
  mq: modeMq,
  error: modeError,
  close: modeClose,
  'write-errors': modeWriteErrors,
  throw: modeThrow,
  unref: modeUnref,
  'read-error': modeReadError,
  order: modeOrder,
  'ring-full': modeRingFull,
  'close-pending': modeClosePending,
  'worker-exit': modeWorkerExit,
  'exit-pending': modeExitPending,
  'worker-child': workerChild,
  'busy-poll': modeBusyPoll,
  'busy-sender': busySender,
  'busy-reflect': modeBusyReflect,
  gather: modeGather,
};

const mode = isMainThread ? (process.argv[2] ?? '') : String((workerData as { mode: string }).mode);
const run = modes[mode];
if (!run) {
  process.stderr.write(`usage: tun-echo.js ${Object.keys(modes).join('|')} JSON\n`);
  process.exitCode = 2;
} else {
  run(isMainThread ? (JSON.parse(process.argv[3] ?? '{}') as Json) : {}).catch((e: unknown) => {
    process.stderr.write(`tun-echo ${mode} failed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    process.exitCode = 1;
  });
}
