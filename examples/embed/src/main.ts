/**
 * svrouter embedded in a program of its own (imports from 'svrouter' only): two routers from a config written
 * in code over two memory links, their typed events printed, a path going down and up, a config change at run
 * time and a bad config's problems. Prints one line per step; exits 1 when a step does not happen.
 *
 *   client 198.18.1.10 --lan-- [r1] ==wan0 (path 1)== [r2] --lan-- server 198.18.3.20
 *                                   ==wan1 (path 2)==
 */
import {
  ConfigError, createRouter, MemoryLink, MemorySegment, SimHost, validateConfig,
  type ConfigInput, type RouterEvent, type Router, type ServiceInput,
} from 'svrouter';

const SECRET = '5f2c8e1a9b3d4f6071829a3b4c5d6e7f8091a2b3c4d5e6f708192a3b4c5d6e7f';
const CLIENT = '198.18.1.10';
const SERVER = '198.18.3.20';
/** fast BFD so that a cut link is noticed in 150 ms, and a mended one used again after 1 s */
const BFD = { desiredTxInterval: 50, requiredMinRxInterval: 50, multiplier: 3, holdDownTime: 1 };

/** Only what has no default: names, addresses, who may reach what, and where it goes. */
function config(services: ServiceInput[]): ConfigInput {
  const wans = (router: 'r1' | 'r2') => [1, 2].map((k) => ({
    name: `wan${k - 1}`, kind: 'wan' as const, waypoint: `198.18.1${k + 1}.${router === 'r1' ? 1 : 2}`,
    neighborhoods: [{ name: `path${k}`, vector: k === 1 ? 'mpls' : 'broadband', bfd: BFD }],
  }));
  return {
    authority: {
      name: 'embedded',
      secret: SECRET,
      tenants: [{ name: 'lab', members: ['198.18.1.0/24'] }],
      servicePolicies: [{ name: 'resilient', vectorOrder: ['mpls', 'broadband'], sessionResiliency: 'failover' }],
      services,
      routers: [
        { name: 'r1', interfaces: [{ name: 'lan0', kind: 'lan' }, ...wans('r1')], serviceRoutes: services.map((s) => ({ name: s.name, service: s.name, peer: 'r2' })) },
        { name: 'r2', interfaces: [{ name: 'lan0', kind: 'lan' }, ...wans('r2')], serviceRoutes: services.map((s) => ({ name: s.name, service: s.name, nextHop: { interface: 'lan0' } })) },
      ],
    },
  };
}

const echo: ServiceInput = { name: 'echo', addresses: ['198.18.3.0/24'], transport: [{ protocol: 'udp', ports: [7] }], accessPolicy: [{ source: 'lab' }], servicePolicy: 'resilient' };
const web: ServiceInput = { name: 'web', addresses: ['198.18.3.0/24'], transport: [{ protocol: 'tcp', ports: [80] }], accessPolicy: [{ source: 'lab' }] };

const tuple = (t: { src: string; srcPort: number; dst: string; dstPort: number }): string => `${t.src}:${t.srcPort} -> ${t.dst}:${t.dstPort}`;

/** One line per event (the events this program shows). */
function describe(e: RouterEvent): string | undefined {
  switch (e.type) {
    case 'session.created': return `${e.sessionId.slice(0, 8)} ${e.role} ${e.tenant}/${e.service} ${tuple(e.forward)} via ${e.path ?? 'local'}`;
    case 'session.denied': return `${e.reason} ${tuple(e.forward)}${e.tenant !== undefined ? ` (tenant ${e.tenant})` : ''}`;
    case 'session.migrated': return `${e.sessionId.slice(0, 8)} ${e.from} -> ${e.to} (${e.reason})`;
    case 'session.removed': return `${e.sessionId.slice(0, 8)} ${e.service} ${e.reason}, packets ${e.packets.join('/')}`;
    case 'path.up': case 'path.down': return `${e.path} (${e.reason})`;
    case 'peer.reachable': case 'peer.unreachable': return e.peer;
    case 'config.applied': return `generation ${e.generation}`;
    case 'config.refused': return `${e.problems.length} problem(s)`;
    default: return undefined;
  }
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** How long before a step counts as not happening: the router decides in 150 ms (a cut link) to 1 s (hold-down), an
 *  echo takes a millisecond; the rest is room for a busy host. */
const STEP_MS = 30_000;

/** Resolves with the index of the first event at or after `from` of `type` that `match` accepts (events are recorded from the start). */
async function waitFor<T extends RouterEvent['type']>(seen: RouterEvent[], type: T, match: (e: Extract<RouterEvent, { type: T }>) => boolean, what: string, from = 0, timeoutMs = STEP_MS): Promise<number> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const i = seen.findIndex((e, k) => k >= from && e.type === type && match(e as Extract<RouterEvent, { type: T }>));
    if (i >= 0) return i;
    if (Date.now() > end) throw new Error(`no ${type} (${what}) within ${timeoutMs} ms`);
    await sleep(10);
  }
}

async function main(): Promise<void> {
  const first = config([echo]);
  console.log(`config: ${validateConfig(first).length} problems`);
  const wans = [new MemoryLink('wan0'), new MemoryLink('wan1')];
  const clientLan = new MemorySegment('client-lan');
  const serverLan = new MemorySegment('server-lan');
  const opts = { liveness: 'bfd' as const, bfd: { slowStartMs: 100 } };
  const r1: Router = createRouter(first, { lan0: clientLan.gatewayPort(), wan0: wans[0]!.a, wan1: wans[1]!.a }, { name: 'r1', ...opts });
  const r2: Router = createRouter(first, { lan0: serverLan.gatewayPort(), wan0: wans[0]!.b, wan1: wans[1]!.b }, { name: 'r2', ...opts });
  const seen: RouterEvent[] = [];
  r1.events$.subscribe((e) => {
    seen.push(e);
    const line = describe(e);
    if (line !== undefined) console.log(`r1 ${e.type} ${line}`);
  });
  await r1.start();
  await r2.start();
  await r1.whenPathsUp();
  await r2.whenPathsUp();
  await waitFor(seen, 'path.up', (e) => e.path === 'wan0->r2/wan0', 'path 1');
  await waitFor(seen, 'path.up', (e) => e.path === 'wan1->r2/wan1', 'path 2');

  const client = new SimHost({ address: CLIENT, port: clientLan.hostPort(CLIENT) });
  const server = new SimHost({ address: SERVER, port: serverLan.hostPort(SERVER) });
  server.udpBind(7, (data, from) => server.udpSend(7, from.address, from.port, data));
  const echoes = new Set<string>();
  client.udpBind(40000, (data) => echoes.add(Buffer.from(data).toString()));
  // UDP: a datagram sent on a path BFD has not declared down yet is lost, as on any network: sent again each second
  const ping = async (n: number): Promise<void> => {
    const end = Date.now() + STEP_MS;
    let next = 0;
    while (!echoes.has(`ping ${n}`)) {
      if (Date.now() > end) throw new Error(`echo ${n} did not come back`);
      if (Date.now() >= next) {
        client.udpSend(40000, SERVER, 7, Buffer.from(`ping ${n}`));
        next = Date.now() + 1000;
      }
      await sleep(5);
    }
  };

  // 1. a session, 2. a denied first packet
  await ping(1);
  await waitFor(seen, 'session.created', (e) => e.service === 'echo', 'the echo session');
  client.udpSend(40001, '198.18.7.7', 9, Buffer.from('nobody serves this'));
  await waitFor(seen, 'session.denied', (e) => e.reason === 'no-service', 'a first packet no service covers');

  // 3. path 1 goes down (BFD notices), the session moves to path 2 on its next packet; then path 1 comes back
  // from the cut on: on a busy host a stalled event loop can outlast BFD's 150 ms, and a path that went down and up
  // before is not this cut
  const cut = seen.length;
  wans[0]!.setFilter(() => false);
  const down = await waitFor(seen, 'path.down', (e) => e.path === 'wan0->r2/wan0', 'path 1 cut', cut);
  await ping(2);
  await waitFor(seen, 'session.migrated', (e) => e.reason === 'path-down', 'the move to path 2', cut);
  wans[0]!.setFilter(null);
  await waitFor(seen, 'path.up', (e) => e.path === 'wan0->r2/wan0', 'path 1 back', down);

  // 4. a config change at run time: a web service, and a TCP connection to it
  const second = config([echo, web]);
  r1.applyConfig(second);
  r2.applyConfig(second);
  await waitFor(seen, 'config.applied', (e) => e.generation === 2, 'the new config');
  server.tcpListen(80, (conn) => {
    conn.write(Buffer.from('hello from the server'));
    conn.end();
  });
  const conn = await client.tcpConnect(SERVER, 80);
  conn.end();
  console.log(`web: "${Buffer.from(await conn.readAll()).toString()}"`);

  // 5. a bad config: refused as a whole, every problem with its object path; the running config stays
  const bad = config([echo, { ...web, accessPolicy: [{ source: 'nobody' }], transport: [{ protocol: 'tcp', ports: [70000] }] }]);
  try {
    r1.applyConfig(bad);
    throw new Error('a bad config was applied');
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    for (const p of e.data.problems) console.log(`problem ${p.path}: ${p.message}`);
  }
  console.log(`running config kept: services ${r1.runningConfig.authority.services.map((s) => s.name).join(', ')}`);

  // 6. stop: the remaining sessions end
  client.close();
  server.close();
  await r1.stop();
  await r2.stop();
  for (const w of wans) w.close();
  clientLan.close();
  serverLan.close();
  const removed = seen.filter((e) => e.type === 'session.removed' && e.reason === 'shutdown').length;
  console.log(`done: ${seen.length} events, ${removed} sessions ended at shutdown`);
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? e.message : e);
  process.exitCode = 1;
});
