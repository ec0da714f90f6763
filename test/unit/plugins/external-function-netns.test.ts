/**
 * builtin.external-function with a real Linux network function (needs root, ip and sysctl; counted as
 * skipped otherwise). The
 * routers run in this process; r1's function interfaces are TUN devices moved into a namespace of their
 * own (svrx-<pid>-fn) where the Linux kernel forwards (ip_forward=1, rp_filter=0) everything arriving on
 * the out device back through the in device (ip rule iif <out> -> table 100 -> default dev <in>). The
 * kernel's own interface counters prove it saw and forwarded the service's traffic. Devices and the
 * namespace are deleted by exact name; addresses are in 198.18.0.0/15 and exist only inside the namespace.
 */
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { MemoryLink } from '../../../src/io/memory/link.js';
import { MemorySegment } from '../../../src/io/memory/segment.js';
import { TunPort } from '../../../src/io/tun/tun-port.js';
import { parseConfig } from '../../../src/model/validate.js';
import { PacketInfo, parsePacket, PROTO_TCP } from '../../../src/packet/ip.js';
import { createRouter } from '../../../src/control/router.js';
import { SimHost } from '../../../src/sim/host.js';
import { builtin, settle } from '../builtin/lab.js';
import { SFC_LAB } from './sfc-lab.js';
import { requires } from '../../support/prerequisites.js';

const test = requires(import.meta.url);

const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
const NS = `svrx-${process.pid}-fn`;
const OUT_DEV = `svrx-${process.pid}-o`;
const IN_DEV = `svrx-${process.pid}-i`;

function run(cmd: string, ...args: string[]): string {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed: ${r.stderr}`);
  return r.stdout;
}
const inNs = (...args: string[]) => run('ip', 'netns', 'exec', NS, ...args);

/** The kernel's packet counters of a device in the function namespace. */
function linkStats(dev: string): { rx: number; tx: number } {
  const j = JSON.parse(run('ip', '-n', NS, '-s', '-j', 'link', 'show', 'dev', dev)) as { stats64: { rx: { packets: number }; tx: { packets: number } } }[];
  return { rx: j[0]!.stats64.rx.packets, tx: j[0]!.stats64.tx.packets };
}

test('a Linux namespace as the function: it sees and forwards every packet of the chained service; the transfer is intact', async () => {
  let outPort: TunPort | null = null;
  let inPort: TunPort | null = null;
  run('ip', 'netns', 'add', NS);
  try {
    inNs('sysctl', '-qw', 'net.ipv6.conf.all.disable_ipv6=1', 'net.ipv6.conf.default.disable_ipv6=1');
    outPort = TunPort.open({ name: OUT_DEV });
    inPort = TunPort.open({ name: IN_DEV });
    for (const dev of [OUT_DEV, IN_DEV]) run('ip', 'link', 'set', 'dev', dev, 'netns', NS);
    inNs('sysctl', '-qw', 'net.ipv4.ip_forward=1', 'net.ipv4.conf.all.rp_filter=0', 'net.ipv4.conf.default.rp_filter=0',
      `net.ipv4.conf.${OUT_DEV}.rp_filter=0`, `net.ipv4.conf.${IN_DEV}.rp_filter=0`);
    run('ip', '-n', NS, 'link', 'set', 'lo', 'up');
    run('ip', '-n', NS, 'addr', 'add', '198.19.250.1/32', 'dev', OUT_DEV);
    run('ip', '-n', NS, 'addr', 'add', '198.19.250.2/32', 'dev', IN_DEV);
    for (const dev of [OUT_DEV, IN_DEV]) run('ip', '-n', NS, 'link', 'set', 'dev', dev, 'up');
    // everything that arrives from the router on OUT_DEV goes back to it through IN_DEV
    run('ip', '-n', NS, 'rule', 'add', 'iif', OUT_DEV, 'lookup', '100');
    run('ip', '-n', NS, 'route', 'add', 'default', 'dev', IN_DEV, 'table', '100');
    const before = { out: linkStats(OUT_DEV), in: linkStats(IN_DEV) };

    const config = parseConfig(SFC_LAB);
    const wan = new MemoryLink('wan', 'r1.wan0', 'r2.wan0');
    const clientLan = new MemorySegment('client-lan');
    const serverLan = new MemorySegment('server-lan');
    const r1 = createRouter(config, { lan0: clientLan.gatewayPort(), wan0: wan.a, 'sfc-out': outPort, 'sfc-in': inPort }, { name: 'r1', liveness: 'static' });
    const r2 = createRouter(config, { lan0: serverLan.gatewayPort(), wan0: wan.b }, { name: 'r2', liveness: 'static' });
    r1.start();
    r2.start();
    const client = new SimHost({ address: '198.18.1.10', port: clientLan.hostPort('198.18.1.10') });
    const server = new SimHost({ address: '198.18.3.20', port: serverLan.hostPort('198.18.3.20') });
    try {
      assert.equal(await r1.applyPlugins([builtin('external-function', { functions: { ids: { out: 'sfc-out', in: 'sfc-in' } } })], { services: { web: ['builtin.external-function/ids'] } }), []);
      let webAtClient = 0;
      let ttlAtServer = -1;
      const pi = new PacketInfo();
      clientLan.observe((p) => {
        if (parsePacket(p, 0, p.length, pi) === 0 && pi.protocol === PROTO_TCP) webAtClient++;
      });
      serverLan.observe((p, from) => {
        if (from.endsWith('gateway') && parsePacket(p, 0, p.length, pi) === 0 && pi.protocol === PROTO_TCP) ttlAtServer = pi.ttl;
      });
      const up = randomBytes(200 * 1024);
      const down = randomBytes(300 * 1024);
      let serverGot = '';
      const served = new Promise<void>((resolve) => {
        server.tcpListen(80, (conn) => {
          void conn.readAll().then((data) => {
            serverGot = sha(data);
            conn.write(down);
            conn.end();
            resolve();
          });
        });
      });
      const conn = await client.tcpConnect('198.18.3.20', 80, { srcPort: 45100 });
      conn.write(up);
      conn.end();
      const clientGot = sha(await conn.readAll());
      await served;
      await settle();
      assert.is(serverGot, sha(up), 'the server got the client bytes intact');
      assert.is(clientGot, sha(down), 'the client got the server bytes intact');
      // a packet still in flight between the router and the function (a late ACK) is counted on one side
      // only: read both sides until they agree, for 2 s at most
      const read = () => {
        const after = { out: linkStats(OUT_DEV), in: linkStats(IN_DEV) };
        const c = r1.counters();
        return {
          c,
          diverted: c['plugin.builtin.external-function.ids.diverted']!,
          returned: c['plugin.builtin.external-function.ids.returned']!,
          kernelGot: after.out.rx - before.out.rx,
          kernelSent: after.in.tx - before.in.tx,
        };
      };
      let seen = read();
      for (const end = Date.now() + 2000; Date.now() < end && (seen.kernelGot !== seen.diverted || seen.kernelSent !== seen.returned);) {
        await new Promise((r) => setTimeout(r, 20));
        seen = read();
      }
      const { c, diverted, returned, kernelGot, kernelSent } = seen;
      console.log(`  function namespace: ${kernelGot} packets in on ${OUT_DEV}, ${kernelSent} out on ${IN_DEV}; router: ${diverted} diverted, ${returned} returned; ${webAtClient} web packets on the client LAN`);
      assert.ok(diverted >= webAtClient, 'every web packet of both directions was diverted');
      assert.is(kernelGot, diverted, 'the Linux function received every diverted packet');
      assert.is(kernelSent, returned, 'and everything it forwarded came back to a session');
      assert.is(returned, diverted, 'it dropped nothing');
      assert.is(c['drop-function-no-session'], 0);
      assert.is(ttlAtServer, 61, 'r1, the Linux function and r2 each decremented the TTL once');
    } finally {
      client.close();
      server.close();
      await r1.stop();
      await r2.stop();
      wan.close();
      clientLan.close();
      serverLan.close();
    }
  } finally {
    outPort?.close();
    inPort?.close();
    spawnSync('ip', ['netns', 'del', NS]);
    for (const dev of [OUT_DEV, IN_DEV]) spawnSync('ip', ['link', 'del', 'dev', dev], { stdio: 'ignore' }); // only if never moved
  }
});

test.run();
