/**
 * End to end: replay protection on real namespaces (docs/security.md). `svr lab up`, a UDP exchange and
 * an HTTP download captured with tcpdump on r1's WAN veth, then every captured packet sent again from the
 * namespace it came from (a raw IP socket: r1 -> r2 from <p>-r1, r2 -> r1 from <p>-r2) 0.1 s, 1 s and
 * 10 s later. Each replay must be rejected and counted by the receiving node (`svr show stats`), create
 * no session and reach no host. Needs root, ip/curl/iperf3/tcpdump and python3 (the raw sender;
 * test/support/prerequisites.ts); otherwise its test counts as skipped.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import * as assert from 'uvu/assert';
import { readCapture } from '../../src/io/pcap.js';
import { request } from '../../src/node/control-client.js';
import { requires } from '../support/prerequisites.js';
import { E2E_PREFIX, inNs, labFixture, show, sleep, startCapture, svr, SVR, LAB_UP_MS } from './support.js';

const PREFIX = E2E_PREFIX;
const NS = { client: `${PREFIX}-client`, r1: `${PREFIX}-r1`, r2: `${PREFIX}-r2` };
const SERVER = '198.18.3.20';
const R1_WAYPOINT = '198.18.12.1';

/** Reads "file" lines on stdin; sends each hex line of that file as one IP packet (IP_HDRINCL); answers "sent N". */
const RAW_SENDER = `
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
for line in sys.stdin:
    n = 0
    for h in open(line.strip()):
        p = bytes.fromhex(h.strip())
        s.sendto(p, ('%d.%d.%d.%d' % tuple(p[16:20]), 0))
        n += 1
    print('sent', n, flush=True)
`;

class RawSender {
  private readonly child: ChildProcess;
  private readonly lines: AsyncIterator<string>;
  constructor(ns: string) {
    this.child = spawn('ip', ['netns', 'exec', ns, 'python3', '-c', RAW_SENDER], { stdio: ['pipe', 'pipe', 'inherit'] });
    this.lines = createInterface({ input: this.child.stdout! })[Symbol.asyncIterator]();
  }
  async send(file: string): Promise<number> {
    this.child.stdin!.write(`${file}\n`);
    const r = await this.lines.next();
    return Number(/^sent (\d+)$/.exec(r.value as string)?.[1] ?? -1);
  }
  stop(): void {
    this.child.stdin!.end();
  }
}

const test = requires(import.meta.url);
{
  const { dir, env, labArgs } = labFixture(test, PREFIX, 'replay');
  const socket = { r1: join(dir, 'r1.sock'), r2: join(dir, 'r2.sock') };

  // over the control socket itself (what `svr show stats --json` prints): a CLI process per read would take
  // seconds under load, and the 0.1 s replay must land inside the HMAC's time window
  const stats = async (node: 'r1' | 'r2'): Promise<Record<string, number>> =>
    (await request(socket[node], { method: 'show', what: 'stats' })) as Record<string, number>;
  const REJECTED = ['drop-replay', 'drop-bad-hmac', 'drop-unknown-key'];
  const rejected = (s: Record<string, number>) => REJECTED.reduce((n, k) => n + (s[k] ?? 0), 0);

  test.after(async () => {
    const r = await svr(['lab', 'down', ...labArgs], env);
    if (r.code !== 0) console.error(`svr lab down failed: ${show(r)}`);
  });

  test('packets captured on the WAN and replayed 0.1 s, 1 s and 10 s later are all rejected and counted by the nodes', async () => {
    await svr(['lab', 'down', ...labArgs], env); // anything left by an aborted run of this prefix
    const up = await svr(['lab', 'up', ...labArgs], env, LAB_UP_MS);
    assert.is(up.code, 0, show(up));
    const senders = { r1: new RawSender(NS.r1), r2: new RawSender(NS.r2) };
    try {
      const cap = await startCapture(NS.r1, 'r1-r2', join(dir, 'wan.pcap'));
      try {
        const u = await inNs(NS.client, process.execPath, [SVR, 'lab', 'udp-probe', SERVER, '7', 'replay me', '--count', '3']);
        assert.is(u.code, 0, show(u));
        const h = await inNs(NS.client, 'curl', ['-sS', '--max-time', '10', '-o', '/dev/null', `http://${SERVER}/bytes/20000`]);
        assert.is(h.code, 0, show(h));
        await sleep(200);
      } finally {
        await cap.stop();
      }
      const captured = { r1: [] as string[], r2: [] as string[] }; // by the namespace that sent them
      for (const rec of readCapture(cap.file)) {
        if (rec.ip === null || rec.ip.length < 20 || rec.ip[0]! >> 4 !== 4) continue;
        const src = [...rec.ip.subarray(12, 16)].join('.');
        captured[src === R1_WAYPOINT ? 'r1' : 'r2'].push(Buffer.from(rec.ip).toString('hex'));
      }
      assert.ok(captured.r1.length >= 10 && captured.r2.length >= 10, `captured ${captured.r1.length} + ${captured.r2.length} packets`);
      const files = { r1: join(dir, 'from-r1.hex'), r2: join(dir, 'from-r2.hex') };
      for (const n of ['r1', 'r2'] as const) writeFileSync(files[n], `${captured[n].join('\n')}\n`);
      const both = async () => {
        const [r1, r2] = await Promise.all([stats('r1'), stats('r2')]);
        return { r1, r2 };
      };
      const before = await both();
      const capturedAt = Date.now();
      let replays = 0;
      let last = before;
      for (const delay of [100, 1000, 10_000]) {
        await sleep(capturedAt + delay - Date.now());
        const sentAt = Date.now() - capturedAt;
        const sent = await Promise.all([senders.r1.send(files.r1), senders.r2.send(files.r2)]);
        assert.equal(sent, [captured.r1.length, captured.r2.length]);
        replays++;
        // r2 receives what r1 sent, and r1 what r2 sent
        const want = { r2: rejected(before.r2) + replays * captured.r1.length, r1: rejected(before.r1) + replays * captured.r2.length };
        let now = last;
        for (let i = 0; i < 40; i++) {
          await sleep(50);
          now = await both();
          if (rejected(now.r1) === want.r1 && rejected(now.r2) === want.r2) break;
        }
        const counts = (s: Record<string, number>) => REJECTED.map((k) => `${k} ${s[k] ?? 0}`).join(', ');
        assert.is(rejected(now.r2), want.r2, `replay ${sentAt} ms after the capture: r2 rejected every packet r1 had sent (${counts(now.r2)})`);
        assert.is(rejected(now.r1), want.r1, `replay ${sentAt} ms after the capture: r1 rejected every packet r2 had sent (${counts(now.r1)})`);
        for (const n of ['r1', 'r2'] as const) {
          assert.is(now[n]['sessions-created'], before[n]['sessions-created'], `${n}: no session created by the replay`);
        }
        const seen = (now.r2['replay-seen'] ?? 0) - (last.r2['replay-seen'] ?? 0);
        // the HMAC's time slots still verify for the packets captured in the last 2-4 s: the window catches those
        if (delay === 100) assert.ok(seen > 0, '0.1 s: caught by the replay window');
        console.log(`  replay ${sentAt} ms after the capture: r1 ${counts(now.r1)}; r2 ${counts(now.r2)}`);
        last = now;
      }
    } finally {
      senders.r1.stop();
      senders.r2.stop();
    }
  });
}

test.run();
