/**
 * Helper for test/unit/io/tun-pass-thread.test.ts, run inside a namespace the test created
 * (`ip netns exec NS node dist/test/support/tun-pass-thread.js run JSON`):
 *
 *   [svrtp-src] -> kernel (forwarding) -> [svrtp-lan: reader 'thread', steady pass armed] -> pass -> [svrtp-wan writer]
 *
 * A LAN queue whose reader runs in thread mode from the start, armed with native/fwd.c's table holding one marked UDP
 * flow (198.18.1.10:5000 -> 198.18.3.20:6000, HMAC only, out of interface 1 to the waypoints 198.18.12.1:16000 ->
 * 198.18.12.2:16001). `count` datagrams of that flow are written to svrtp-src in batches of `batch`; the kernel
 * forwards them into svrtp-lan. Prints `RESULT <json>` once the queue counted them all (or after `ms`): the packets
 * the JS handler got, the packets the steady pass took, the queue's rx packets and batches, its reader mode, the
 * WAN port's tx packets and the SVR datagrams it sent (UDP, waypoint ports, tag length added). With `framed` the flow's
 * payload is framed (the plain marker: the pass checks the UDP checksum first, or takes the reader thread's verdict) and
 * every `bad`-th datagram (1-based) carries a wrong UDP checksum (the first of them unmarks the flow).
 */
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { runIp } from '../../src/io/tun/link.js';
import { TunPort } from '../../src/io/tun/tun-port.js';
import { buildUdp } from '../../src/packet/build.js';
import { BatchHmac } from '../../src/crypto/native-crypto.js';
import { NativeForward, SEAL_NONE, SEAL_PLAIN } from '../../src/dataplane/native-forward.js';
import { passIndices } from '../../src/dataplane/steady-pass.js';
import { monotonicMs } from '../../src/dataplane/clock.js';

type Json = Record<string, unknown>;

const CLIENT = Uint8Array.of(198, 18, 1, 10);
const SERVER = Uint8Array.of(198, 18, 3, 20);
const word = (a: Uint8Array): number => ((a[0]! << 24) | (a[1]! << 16) | (a[2]! << 8) | a[3]!) >>> 0;

async function up(name: string): Promise<void> {
  for (const f of [`/proc/sys/net/ipv4/conf/${name}/rp_filter`, `/proc/sys/net/ipv6/conf/${name}/disable_ipv6`]) {
    try {
      writeFileSync(f, f.includes('ipv6') ? '1' : '0');
    } catch {
      // no IPv6 at all
    }
  }
  await runIp(['link', 'set', 'dev', name, 'mtu', '1500', 'up']);
}

async function run(a: Json): Promise<void> {
  const count = Number(a.count), batch = Number(a.batch), framed = a.framed === true, bad = Number(a.bad ?? 0);
  for (const f of ['ip_forward', 'conf/all/rp_filter', 'conf/default/rp_filter']) writeFileSync(`/proc/sys/net/ipv4/${f}`, f === 'ip_forward' ? '1' : '0');
  const lan = TunPort.open({ name: 'svrtp-lan', reader: 'thread' });
  const wan = TunPort.open({ name: 'svrtp-wan' });
  const src = TunPort.open({ name: 'svrtp-src' });
  for (const p of [lan, wan, src]) await up(p.name);
  await runIp(['route', 'replace', '198.18.3.0/24', 'dev', lan.name]);
  await runIp(['route', 'replace', '198.18.1.0/24', 'dev', src.name]);

  let js = 0;
  lan.start((_d, _o, _l, n) => {
    js += n;
  });
  wan.start(() => {});
  let svr = 0;
  src.start(() => {});

  // fwd.c's table: one marked UDP flow from interface 0, HMAC only (sha256-128), out of interface 1
  const nf = new NativeForward();
  const cols = {
    pktsFwd: new Uint32Array(4), bytesFwd: new Float64Array(4), pktsRev: new Uint32Array(4), bytesRev: new Float64Array(4),
    lastSeen: new Uint32Array(4), expires: new Uint32Array(4), flags: new Uint16Array(4),
    syncRows: new Float64Array(0), syncDirty: new Int32Array(0), syncTop: new Int32Array(1), onColumns: null,
  };
  nf.follow(cols);
  nf.paths(Uint8Array.of(1));
  const mac = BatchHmac.create('sha256-128', new Uint8Array(32).fill(5));
  const marked = nf.mark({
    ifIndex: 0, protocol: 17, src: word(CLIENT), dst: word(SERVER), ports: ((5000 << 16) | 6000) >>> 0,
    row: 0, forward: true, wpSrc: word(Uint8Array.of(198, 18, 12, 1)), wpDst: word(Uint8Array.of(198, 18, 12, 2)), localPort: 16000, peerPort: 16001,
    outIf: 1, mtu: 1500, path: 0, seal: framed ? SEAL_PLAIN : SEAL_NONE, service: 0, keyIdByte: 0, timeoutMs: 60_000, timed: false, flags: 0, transform: false,
  }, mac, 1, 1, new Uint32Array(3), null, monotonicMs() + 20_000); // a lease past the run, however slow the machine

  const counters = new Float64Array(16);
  const idx = passIndices(0, 2, { rxBatches: 0, rx: 1, native: 2, tx: 3, noPort: 4, badPayload: 5, ifIds: Int32Array.from({ length: 8 }, (_, i) => 6 + i), stride: 4 });
  const armed = lan.steadyPass({
    table: nf.handle, ifIndex: 0, ports: [lan, wan], counters, idx, clockOffsetMs: monotonicMs() - Number(process.hrtime.bigint()) / 1e6, slotMs: 0,
  });

  const data = new Uint8Array(batch * 2048), offsets = new Uint32Array(batch), lengths = new Uint32Array(batch);
  for (let i = 0; i < count;) {
    let n = 0;
    for (; n < batch && i < count; n++, i++) {
      const p = buildUdp({ src: CLIENT, dst: SERVER, srcPort: 5000, dstPort: 6000, id: i + 1, payload: new Uint8Array(200).fill(i & 0xff) });
      if (bad > 0 && (i + 1) % bad === 0) p[27] = p[27]! ^ 0x55; // a wrong UDP checksum (never 0: "none")
      offsets[n] = n * 2048;
      lengths[n] = p.length;
      data.set(p, n * 2048);
    }
    src.transmit(data, offsets, lengths, n);
    await new Promise((r) => setTimeout(r, 5));
  }
  const end = Date.now() + Number(a.ms);
  while (lan.stats.rxPackets < count && Date.now() < end) await new Promise((r) => setTimeout(r, 20));
  await new Promise((r) => setTimeout(r, 100)); // the WAN writer's last writes
  svr = wan.stats.txPackets;
  const s = lan.stats;
  process.stdout.write(`RESULT ${JSON.stringify({
    marked, armed, js, steady: lan.device.steadyPackets, rx: s.rxPackets, batches: s.rxBatches, mode: lan.device.readerMode, wanTx: svr,
    nativeForwarded: counters[2], txCounted: counters[3],
  })}\n`);
  for (const p of [lan, wan, src]) p.close();
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const [mode, arg] = process.argv.slice(2);
  (mode === 'run' ? run(JSON.parse(arg ?? '{}') as Json) : Promise.reject(new Error(`unknown mode ${mode}`))).catch((e: unknown) => {
    process.stderr.write(`${e instanceof Error ? e.stack : String(e)}\n`);
    process.exit(1);
  });
}
