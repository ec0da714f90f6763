/**
 * Two SVR routers, a client and a server, all in this process over in-memory links: no root, no TUN.
 * Run it with `npm run example` (after `npm ci`).
 *
 *   client 198.18.1.10 --lan-- [r1] ==wan (waypoints 198.18.12.1 <-> 198.18.12.2)== [r2] --lan-- server 198.18.3.20
 */
import { createHash, randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { createRouter, loadConfig, MemoryLink, MemorySegment, SimHost, type Router } from '../src/index.js';

const configFile = fileURLToPath(new URL('../../examples/configs/two-routers.yaml', import.meta.url));

async function printSessions(router: Router): Promise<void> {
  console.log(`\n${router.name} sessions:`);
  for (const s of (await router.sessions())) {
    const o = s.original;
    const w = s.waypoint;
    console.log(`  ${s.id.slice(0, 8)} ${s.role.padEnd(7)} ${s.tenant}/${s.service} ${o.protocol} ${o.src}:${o.srcPort} -> ${o.dst}:${o.dstPort}` +
      (w ? `  via ${w.src}:${w.srcPort} -> ${w.dst}:${w.dstPort}` : '') +
      `  pkts ${s.packets.forward}/${s.packets.reverse} bytes ${s.bytes.forward}/${s.bytes.reverse} ${s.state}`);
  }
}

async function main(): Promise<void> {
  const config = await loadConfig(configFile);
  // the wires: one WAN link between the routers, one LAN segment on each side
  const wan = new MemoryLink('wan');
  const clientLan = new MemorySegment('client-lan');
  const serverLan = new MemorySegment('server-lan');
  const r1 = createRouter(config, { lan0: clientLan.gatewayPort(), wan0: wan.a }, { name: 'r1' });
  const r2 = createRouter(config, { lan0: serverLan.gatewayPort(), wan0: wan.b }, { name: 'r2' });
  r1.events$.subscribe((e) => {
    if (e.type === 'session.created' || e.type === 'session.removed') console.log(`r1 event: ${e.type} ${e.sessionId.slice(0, 8)} ${e.tenant}/${e.service}`);
  });
  await r1.start();
  await r2.start();
  await Promise.all([r1.whenPathsUp(), r2.whenPathsUp()]); // BFD brings the path up in about a second
  console.log(`path ${r1.peers()[0]!.paths[0]!.name}: BFD ${r1.peers()[0]!.paths[0]!.bfd}`);
  const client = new SimHost({ address: '198.18.1.10', port: clientLan.hostPort('198.18.1.10') });
  const server = new SimHost({ address: '198.18.3.20', port: serverLan.hostPort('198.18.3.20') });

  // UDP echo
  server.udpBind(7, (data, from) => server.udpSend(7, from.address, from.port, data));
  const reply = new Promise<string>((resolve) => client.udpBind(40000, (d) => resolve(Buffer.from(d).toString())));
  client.udpSend(40000, '198.18.3.20', 7, Buffer.from('hello over SVR'));
  console.log(`UDP echo: "${await reply}"`);

  // TCP: 1 MB download
  const body = randomBytes(1 << 20);
  server.tcpListen(80, (conn) => {
    console.log(`server: connection from ${conn.remoteAddress}:${conn.remotePort} (the client's own address)`);
    conn.write(body);
    conn.end();
  });
  const conn = await client.tcpConnect('198.18.3.20', 80);
  conn.end();
  const got = await conn.readAll();
  const ok = createHash('sha256').update(got).digest('hex') === createHash('sha256').update(body).digest('hex');
  console.log(`TCP: received ${got.length} bytes, sha256 ${ok ? 'matches' : 'DIFFERS'}`);

  await printSessions(r1);
  await printSessions(r2);
  const c = r1.counters();
  console.log(`\nr1: ${c['rx-packets']} packets in, ${c['tx-packets']} out, ${c['metadata-sent']} with metadata, ${c['sessions-created']} sessions`);
  client.close();
  server.close();
  await r1.stop();
  await r2.stop();
  if (!ok) process.exitCode = 1;
}

main().catch((e) => {
  console.error(e);
  process.exitCode = 1;
});
