/**
 * Multi-hop SVR in memory: client -> r1 -> r2 -> r3 -> server, real routers and data paths over in-memory
 * links. r2 has no LAN for the service: it accepts the session from r1 and continues it as SVR to r3 on
 * its own waypoints (two legs, one session id). Routes are configured (peer routes) or learned by STEP.
 */
import { createHash, randomBytes } from 'node:crypto';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createRouter, type Router } from '../../../src/control/router.js';
import { MemoryLink } from '../../../src/io/memory/link.js';
import { MemorySegment } from '../../../src/io/memory/segment.js';
import { parseConfig } from '../../../src/model/validate.js';
import { SimHost } from '../../../src/sim/host.js';
import { TCP_SYN } from '../../../src/packet/ip.js';
import { until } from '../../support/config.js';
import { recordWire, type WirePacket } from '../../support/wire.js';

const SECRET = '5f2c8e1a9b3d4f6071829a3b4c5d6e7f8091a2b3c4d5e6f708192a3b4c5d6e7f';
const CLIENT = '198.18.1.10';
const SERVER = '198.18.30.20';

/** r1 -(n12)- r2 -(n23)- r3; S (198.18.30.0/24, udp 7 and tcp 80) is delivered by r3 on its lan0. */
function chain(routes: { r1: string; r2: string }): string {
  const wan = (name: string, waypoint: string, hood: string) => `
        - name: ${name}
          kind: wan
          waypoint: ${waypoint}
          neighborhoods:
            - name: ${hood}`;
  return `authority:
  name: transit-lab
  secret: ${SECRET}
  tenants:
    - name: eng
      members: [198.18.1.0/24]
  services:
    - name: S
      addresses: [198.18.30.0/24]
      transport:
        - protocol: udp
          ports: [7]
        - protocol: tcp
          ports: [80]
      access-policy:
        - source: eng
  routers:
    - name: r1
      interfaces:
        - name: lan0
          kind: lan${wan('wan0', '198.18.12.1', 'n12')}
      routes:
        - prefix: 198.18.1.0/24
          interface: lan0${routes.r1}
    - name: r2
      interfaces:${wan('wan0', '198.18.12.2', 'n12')}${wan('wan1', '198.18.23.2', 'n23')}${routes.r2}
    - name: r3
      interfaces:
        - name: lan0
          kind: lan${wan('wan0', '198.18.23.3', 'n23')}
      service-routes:
        - name: s-local
          service: S
          next-hop:
            interface: lan0
`;
}

const peerRoute = (peer: string) => `
      service-routes:
        - name: s-via-${peer}
          service: S
          peer: ${peer}`;

interface Chain {
  r: Record<'r1' | 'r2' | 'r3', Router>;
  l12: MemoryLink;
  l23: MemoryLink;
  client: SimHost;
  server: SimHost;
  close(): Promise<void>;
}

function startChain(yaml: string, step: boolean): Chain {
  const config = parseConfig(yaml, 'transit.yaml');
  const l12 = new MemoryLink('l12', 'r1.wan0', 'r2.wan0');
  const l23 = new MemoryLink('l23', 'r2.wan1', 'r3.wan0');
  const lan1 = new MemorySegment('lan1');
  const lan3 = new MemorySegment('lan3');
  const opts = { liveness: 'static' as const, ...(step ? { step: { pollIntervalMs: 20, minIntervalMs: 200, ackTimeoutMs: 200 } } : {}) };
  const r = {
    r1: createRouter(config, { lan0: lan1.gatewayPort(), wan0: l12.a }, { ...opts, name: 'r1' }),
    r2: createRouter(config, { wan0: l12.b, wan1: l23.a }, { ...opts, name: 'r2' }),
    r3: createRouter(config, { lan0: lan3.gatewayPort(), wan0: l23.b }, { ...opts, name: 'r3' }),
  };
  for (const x of Object.values(r)) void x.start();
  const client = new SimHost({ address: CLIENT, port: lan1.hostPort(CLIENT) });
  const server = new SimHost({ address: SERVER, port: lan3.hostPort(SERVER) });
  return {
    r, l12, l23, client, server,
    async close() {
      client.close();
      server.close();
      for (const x of Object.values(r)) await x.stop();
      for (const x of [l12, l23]) x.close();
      lan1.close();
      lan3.close();
    },
  };
}

async function echoThrough(c: Chain, n: number): Promise<string[]> {
  const seen: string[] = [];
  c.server.udpBind(7, (data, from) => {
    seen.push(`${from.address}:${from.port}`);
    c.server.udpSend(7, from.address, from.port, data);
  });
  const replies: string[] = [];
  c.client.udpBind(40000, (data) => replies.push(Buffer.from(data).toString()));
  for (let i = 0; i < n; i++) {
    c.client.udpSend(40000, SERVER, 7, Buffer.from(`ping ${i}`));
    assert.ok(await until(() => replies.length === i + 1, 3000), `reply ${i}: ${JSON.stringify(c.r.r2.counters())}`);
  }
  assert.equal(seen[0], `${CLIENT}:40000`, 'the server sees the client\'s own address and port');
  return replies;
}

const forward = (w: WirePacket[], dir: 'a->b' | 'b->a') => w.filter((x) => x.dir === dir);

test('configured routes: r2 continues the session from r1 to r3 on its own waypoints, metadata on each hop', async () => {
  const c = startChain(chain({ r1: peerRoute('r2'), r2: peerRoute('r3') }), false);
  const w12 = recordWire(c.l12);
  const w23 = recordWire(c.l23);
  try {
    assert.equal(await echoThrough(c, 3), ['ping 0', 'ping 1', 'ping 2']);
    for (const [w, a, b] of [[w12, '198.18.12.1', '198.18.12.2'], [w23, '198.18.23.2', '198.18.23.3']] as const) {
      const fwd = forward(w, 'a->b');
      const rev = forward(w, 'b->a');
      assert.ok(fwd.every((x) => x.src === a && x.dst === b), `hop ${a} -> ${b}: waypoints only`);
      assert.equal(fwd[0]!.meta!.forward, { src: CLIENT, dst: SERVER, srcPort: 40000, dstPort: 7, protocol: 17 }, 'each hop carries the original 5-tuple');
      assert.is(fwd[0]!.meta!.service, 'S');
      assert.is(fwd[0]!.meta!.tenant, 'eng');
      assert.ok(rev[0]!.meta?.disableForwardMetadata, 'reverse metadata on each hop');
      assert.equal(rev[0]!.meta!.reverse, { src: SERVER, dst: CLIENT, srcPort: 7, dstPort: 40000, protocol: 17 });
      for (const x of [...fwd.slice(1), ...rev.slice(1)]) assert.is(x.meta, null, 'each hop\'s handshake completes on its own');
    }
    assert.is(forward(w12, 'a->b')[0]!.meta!.sourceRouter, 'r1');
    assert.is(forward(w23, 'a->b')[0]!.meta!.sourceRouter, 'r2');
    const [s1, s2, s3] = [await c.r.r1.sessions(), await c.r.r2.sessions(), await c.r.r3.sessions()];
    assert.is(s1.length, 1);
    assert.is(s3.length, 1);
    assert.equal(s2.map((s) => [s.role, s.path, s.transit?.path, s.handshake]).sort(), [
      ['egress', 'wan0->r1/wan0', 'wan1->r3/wan0', 'complete'],
      ['ingress', 'wan1->r3/wan0', 'wan0->r1/wan0', 'complete'],
    ], 'r2 holds the two legs of one session');
    assert.ok([...s2, ...s3].every((s) => s.id === s1[0]!.id), 'one session id on all three routers');
    const k = c.r.r2.counters();
    assert.is(k['sessions-transit'], 1);
    assert.is(k['drop-no-route'] ?? 0, 0);
    // one leg removed (by control or expiry) takes the other with it
    const egressLeg = (await c.r.r2.sessions()).find((s) => s.role === 'egress')!;
    assert.ok(egressLeg.packets.forward >= 3 && egressLeg.packets.reverse >= 3, JSON.stringify(egressLeg.packets));
  } finally {
    await c.close();
  }
});

test('TCP through the chain: 256 kB each way intact, both legs follow the TCP state and close', async () => {
  const c = startChain(chain({ r1: peerRoute('r2'), r2: peerRoute('r3') }), false);
  const w23 = recordWire(c.l23);
  const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
  try {
    const up = randomBytes(1 << 18);
    const down = randomBytes(1 << 18);
    let got = '';
    c.server.tcpListen(80, (conn) => {
      void conn.readAll().then((data) => {
        got = sha(data);
        conn.write(down);
        conn.end();
      });
    });
    const conn = await c.client.tcpConnect(SERVER, 80, { srcPort: 45000 });
    conn.write(up);
    conn.end();
    assert.is(sha(await conn.readAll()), sha(down));
    assert.ok(await until(() => got === sha(up), 3000));
    assert.is(forward(w23, 'a->b')[0]!.tcpFlags & TCP_SYN, TCP_SYN, 'the SYN opens the onward leg');
    const legs = await c.r.r2.sessions();
    assert.equal(legs.map((s) => s.state), ['closing', 'closing']);
    assert.ok(await until(async () => {
      for (const x of Object.values(c.r)) x.sweep();
      return (await c.r.r2.sessions()).length === 0;
    }, 4000), 'both legs removed after the linger');
  } finally {
    await c.close();
  }
});

test('STEP-learned routes: no service-route on r1 or r2; r1 learns S via r2, r2 continues it to r3', async () => {
  const c = startChain(chain({ r1: '', r2: '' }), true);
  try {
    assert.ok(await until(async () => (await c.r.r1.services()).find((s) => s.name === 'S')?.paths.length === 1, 5000), 'r1 learned a route for S');
    assert.ok(await until(async () => (await c.r.r2.services()).find((s) => s.name === 'S')?.paths.length === 1, 5000), 'r2 learned a route for S');
    assert.equal(await echoThrough(c, 2), ['ping 0', 'ping 1']);
    assert.is(c.r.r2.counters()['sessions-transit'], 1);
  } finally {
    await c.close();
  }
});

test('a route back to where the session came from is no onward route: r2 drops it (no-route), nothing loops', async () => {
  const c = startChain(chain({ r1: peerRoute('r2'), r2: peerRoute('r1') }), false);
  try {
    c.client.udpBind(40000, () => undefined);
    c.client.udpSend(40000, SERVER, 7, Buffer.from('lost'));
    assert.ok(await until(() => (c.r.r2.counters()['drop-no-route'] ?? 0) === 1, 3000), JSON.stringify(c.r.r2.counters()));
    assert.is(c.r.r2.counters()['sessions-transit'] ?? 0, 0);
    assert.is((await c.r.r2.sessions()).length, 0);
  } finally {
    await c.close();
  }
});

test.run();
