/**
 * End to end firewall detector and UDP transform (issue 13, docs/wan.md "UDP transform"): `svr lab up
 * --middlebox` puts a stateful nftables firewall on path 1 (`<prefix>-middlebox`) that drops mid-flow TCP
 * and SYNs carrying data, as firewalls in front of branch sites do; both routers run udp-transform
 * auto-detect (probes every 10 s).
 * - the path switches to UDP transform by itself (svr show peers: udp-transform, reasons TCP SYN and
 *   Mid-flow), the alarm udp-transform-active is raised, the firewall counted the probes it dropped;
 * - an iperf3 TCP run completes, and the capture on r1's wan veth shows its session as UDP between the
 *   waypoints (forward metadata naming TCP inside), no TCP;
 * - with the firewall's rules removed, the next episode finds TCP passing: the path goes back to tcp and a
 *   new download crosses the wan as TCP;
 * - with the rules back on what r2 sends only (a firewall that drops the peer's TCP: r1's own probes pass),
 *   r2 finds it and tells r1 (0xd1), r1's path switches with the peer's reasons and an iperf3 TCP run from
 *   r1's client completes as UDP (as TCP, r2's SYN-ACK with metadata would be dropped); its SYN carries
 *   TLV 12 (svr decode: tcpSyn).
 * Needs root, ip/curl/iperf3, nft and tcpdump (test/support/prerequisites.ts). About 60 s.
 */
import { join } from 'node:path';
import * as assert from 'uvu/assert';
import { E2E_PREFIX, inNs, labFixture, parseNdjson, pollUntil, show, startCapture, svr, type DecodedLine, LAB_UP_MS } from './support.js';
import { requires } from '../support/prerequisites.js';
import { middleboxDrops, setMiddleboxRules } from '../../src/lab/middlebox.js';

const PREFIX = `${E2E_PREFIX}u`;
const CLIENT_NS = `${PREFIX}-client`;
const SERVER = '198.18.3.20';
const CONTROL_PORT = 1280;
const PROBE_PORT = 1283;

const test = requires(import.meta.url);

const { dir, env, labArgs, downSync } = labFixture(test, PREFIX, 'udpt');
const sock = (r: 'r1' | 'r2'): string => join(dir, `${r}.sock`);

interface PathView { up: boolean; transport: string; udpTransform?: { mode: string; active: boolean; state: string; reasons: string[]; episodes: number; peerReasons?: string[] } }

async function path1(r: 'r1' | 'r2'): Promise<PathView> {
  const res = await svr(['show', 'peers', '--json', '--socket', sock(r)], env);
  assert.is(res.code, 0, show(res));
  return (JSON.parse(res.stdout) as { paths: PathView[] }[])[0]!.paths[0]!;
}

async function alarms(r: 'r1' | 'r2'): Promise<{ id: string; severity: string; message: string }[]> {
  const res = await svr(['show', 'alarms', '--json', '--socket', sock(r)], env);
  assert.is(res.code, 0, show(res));
  return JSON.parse(res.stdout) as { id: string; severity: string; message: string }[];
}

async function counters(r: 'r1' | 'r2'): Promise<Record<string, number>> {
  const res = await svr(['show', 'stats', '--json', '--socket', sock(r)], env);
  assert.is(res.code, 0, show(res));
  return JSON.parse(res.stdout) as Record<string, number>;
}

/** The session packets of a capture on r1's wan veth (control channel and probes left out). */
async function sessionPackets(file: string): Promise<DecodedLine[]> {
  const d = await svr(['decode', file], env);
  assert.is(d.code, 0, show(d));
  return parseNdjson<DecodedLine>(d.stdout).filter((p) => p.outer !== undefined
    && ![CONTROL_PORT, PROBE_PORT].includes(p.outer.srcPort) && ![CONTROL_PORT, PROBE_PORT].includes(p.outer.dstPort));
}

test.after(() => {
  downSync();
  // e2eDir removes the directory when every test passed (kept with the logs otherwise)
});

test('svr lab up --middlebox: the path switches to UDP transform by itself and iperf3 TCP completes over UDP; without the firewall TCP stays TCP', async () => {
  const up = await svr(['lab', 'up', ...labArgs, '--middlebox', '--bfd-interval', '100'], env, LAB_UP_MS);
  assert.is(up.code, 0, show(up));
  assert.match(up.stdout, /a middlebox on path 1/);

  const found = await pollUntil('r1 to find the firewall', 20_000, async () => {
    const p = await path1('r1');
    // the path may turn to UDP transform on r2's verdict first (peer reasons); wait for r1's own probes too
    const own = p.udpTransform?.reasons ?? [];
    return p.transport === 'udp-transform' && own.includes('TCP SYN') && own.includes('Mid-flow') ? p : undefined;
  });
  assert.is(found.udpTransform!.mode, 'auto-detect');
  assert.ok(found.udpTransform!.reasons.includes('TCP SYN') && found.udpTransform!.reasons.includes('Mid-flow'), `reasons: ${found.udpTransform!.reasons.join('; ')}`);
  const alarm = await pollUntil('the udp-transform-active alarm', 10_000, async () => (await alarms('r1')).find((a) => a.id.startsWith('udp-transform-active:')));
  assert.is(alarm.severity, 'minor');
  const [, midFlow, synData] = await middleboxDrops(PREFIX);
  assert.ok(midFlow! > 0 && synData! > 0, `the firewall dropped the probes: mid-flow ${midFlow}, SYN with data ${synData}`);

  const cap = await startCapture(`${PREFIX}-r1`, 'r1-r2', join(dir, 'udp.pcap'));
  const iperf = await inNs(CLIENT_NS, 'iperf3', ['-c', SERVER, '-t', '3', '-J'], 60_000);
  await cap.stop();
  assert.is(iperf.code, 0, `iperf3 completes through the firewall: ${show(iperf)}`);
  const report = JSON.parse(iperf.stdout) as { end: { sum_received: { bytes: number; bits_per_second: number } } };
  assert.ok(report.end.sum_received.bytes > 1_000_000, `iperf3 moved ${report.end.sum_received.bytes} bytes`);
  const pkts = await sessionPackets(cap.file);
  const udp = pkts.filter((p) => p.outer!.protocol === 17);
  assert.ok(udp.length > 100, `iperf3's sessions crossed the wan as UDP (${udp.length} packets)`);
  assert.is(pkts.filter((p) => p.outer!.protocol === 6).length, 0, 'no session packet crossed the wan as TCP');
  assert.ok(udp.some((p) => p.metadata?.forward?.protocol === 6 && p.metadata.forward.dstPort === 5201), 'forward metadata names the TCP session to iperf3 inside');
  const c1 = await counters('r1');
  assert.ok((c1['tcp-sessions-transformed'] ?? 0) >= 2, `iperf3's control and data connections transformed (${c1['tcp-sessions-transformed']})`);
  assert.ok((c1['udp-transform-activations'] ?? 0) >= 1);
  console.log(`[udp-transform] reasons ${found.udpTransform!.reasons.join('; ')}; iperf3 ${(report.end.sum_received.bits_per_second / 1e6).toFixed(0)} Mbit/s as UDP (${udp.length} packets captured); firewall drops mid-flow ${midFlow}, SYN with data ${synData}`);

  // the firewall goes away: the next episode (detect-interval 10 s) finds TCP passing
  await setMiddleboxRules(PREFIX, false);
  const clean = await pollUntil('r1 to find TCP passing again', 20_000, async () => {
    const p = await path1('r1');
    return p.transport === 'tcp' ? p : undefined;
  });
  assert.is(clean.udpTransform!.active, false);
  await pollUntil('the alarm to clear', 10_000, async () => ((await alarms('r1')).some((a) => a.id.startsWith('udp-transform-active:')) ? undefined : true));
  const cap2 = await startCapture(`${PREFIX}-r1`, 'r1-r2', join(dir, 'tcp.pcap'));
  const fetch = await inNs(CLIENT_NS, 'curl', ['-sS', '-m', '30', '-o', '/dev/null', '-w', '%{size_download}', `http://${SERVER}/bytes/2000000`], 40_000);
  await cap2.stop();
  assert.is(fetch.code, 0, show(fetch));
  assert.is(fetch.stdout.trim(), '2000000');
  const pkts2 = await sessionPackets(cap2.file);
  assert.ok(pkts2.filter((p) => p.outer!.protocol === 6).length > 50, 'the new session crossed the wan as TCP');
  assert.is(pkts2.filter((p) => p.outer!.protocol === 17).length, 0, 'and not as UDP');

  // a firewall on r2's TCP only: r1's probes pass, r2's next episode finds it and tells r1
  await setMiddleboxRules(PREFIX, 'toward-r1');
  const told = await pollUntil('r1 to follow r2\'s verdict', 30_000, async () => {
    const p = await path1('r1');
    return p.transport === 'udp-transform' && (p.udpTransform!.peerReasons ?? []).length > 0 ? p : undefined;
  });
  const r1view = told.udpTransform!;
  assert.equal(r1view.reasons, [], 'r1\'s own last verdict: clean');
  assert.is(r1view.active, true);
  const cap3 = await startCapture(`${PREFIX}-r1`, 'r1-r2', join(dir, 'oneway.pcap'));
  const iperf2 = await inNs(CLIENT_NS, 'iperf3', ['-c', SERVER, '-t', '3', '-J'], 60_000);
  await cap3.stop();
  assert.is(iperf2.code, 0, `iperf3 completes with the peer's TCP blocked: ${show(iperf2)}`);
  const pkts3 = await sessionPackets(cap3.file);
  assert.is(pkts3.filter((p) => p.outer!.protocol === 6).length, 0, 'no session packet as TCP');
  const syns = pkts3.filter((p) => p.metadata?.tcpSyn === true);
  assert.ok(syns.length >= 2 && syns.every((p) => p.outer!.protocol === 17 && p.metadata!.forward?.protocol === 6), `TLV 12 on the SYNs of iperf3's connections (${syns.length})`);
  const c2 = await counters('r2');
  const rate = (JSON.parse(iperf2.stdout) as { end: { sum_received: { bits_per_second: number } } }).end.sum_received.bits_per_second;
  console.log(`[udp-transform] firewall toward r1 only: r1 reasons [${r1view.reasons.join('; ')}], peer reasons [${(r1view.peerReasons ?? []).join('; ')}]; r2 verdicts sent ${c2['firewall-verdicts-sent'] ?? 0}; iperf3 ${(rate / 1e6).toFixed(0)} Mbit/s as UDP, ${syns.length} SYNs with TLV 12`);
});

test.run();
