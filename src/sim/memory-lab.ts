/**
 * Two routers, their LANs and SimHosts, all in one process over in-memory links: the embeddable
 * counterpart of `svr lab` for tests and examples.
 *
 *   clients --[lan segment]-- r1.lan0  r1.wan0 ==[wan link]== r2.wan0  r2.lan0 --[lan segment]-- servers
 *                                     r1.wan1 ==[wan link]== r2.wan1   (with paths: 2, and so on)
 */
import { MemoryLink, type LinkFilter } from '../io/memory/link.js';
import { MemorySegment } from '../io/memory/segment.js';
import type { ConfigInput } from '../model/config-input.js';
import { createRouter, type CreateRouterOptions, type Router } from '../control/router.js';
import type { InThreadHost } from '../control/in-thread-host.js';
import { SimHost } from './host.js';

export interface MemoryLabOptions {
  config: ConfigInput;
  /** router names, default r1 and r2; each needs interfaces `lan0` and `wan0` */
  ingress?: string;
  egress?: string;
  clients: string[];
  servers: string[];
  /** WAN links between the routers (interfaces wan0..wanN-1 on both), default 1 */
  paths?: number;
  /** router options for both routers; liveness defaults to 'static' here (pass 'bfd' to run BFD) */
  router?: Omit<CreateRouterOptions, 'name'>;
  /** a filter on every WAN link from the start (a middlebox that drops what it returns false for) */
  wanFilter?: LinkFilter;
}

export interface MemoryLab {
  r1: Router<InThreadHost>;
  r2: Router<InThreadHost>;
  /** the first WAN link (wans[0]) */
  wan: MemoryLink;
  wans: MemoryLink[];
  clientLan: MemorySegment;
  serverLan: MemorySegment;
  clients: SimHost[];
  servers: SimHost[];
  close(): Promise<void>;
}

export function createMemoryLab(o: MemoryLabOptions): MemoryLab {
  const wans = Array.from({ length: o.paths ?? 1 }, (_, i) => new MemoryLink(`wan${i}`, `r1.wan${i}`, `r2.wan${i}`));
  const wan = wans[0]!;
  if (o.wanFilter !== undefined) for (const w of wans) w.setFilter(o.wanFilter);
  const clientLan = new MemorySegment('client-lan');
  const serverLan = new MemorySegment('server-lan');
  const io1 = Object.fromEntries([['lan0', clientLan.gatewayPort()], ...wans.map((w, i) => [`wan${i}`, w.a])]);
  const io2 = Object.fromEntries([['lan0', serverLan.gatewayPort()], ...wans.map((w, i) => [`wan${i}`, w.b])]);
  // static liveness unless asked: tests start sending at once (with BFD, paths need ~1 s to come up)
  const base = { liveness: 'static' as const, ...o.router };
  const r1 = createRouter(o.config, io1, { ...base, name: o.ingress ?? 'r1' });
  const r2 = createRouter(o.config, io2, { ...base, name: o.egress ?? 'r2' });
  void r1.start(); // the in-thread data path is started when start() returns
  void r2.start();
  const clients = o.clients.map((a) => new SimHost({ address: a, port: clientLan.hostPort(a) }));
  const servers = o.servers.map((a) => new SimHost({ address: a, port: serverLan.hostPort(a) }));
  return {
    r1, r2, wan, wans, clientLan, serverLan, clients, servers,
    async close() {
      for (const h of [...clients, ...servers]) h.close();
      await r1.stop();
      await r2.stop();
      for (const w of wans) w.close();
      clientLan.close();
      serverLan.close();
    },
  };
}
