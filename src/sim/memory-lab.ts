/**
 * Two routers, their LANs and SimHosts, all in one process over in-memory links: the embeddable
 * counterpart of `svr lab` for tests and examples.
 *
 *   clients --[lan segment]-- r1.lan0  r1.wan0 ==[wan link]== r2.wan0  r2.lan0 --[lan segment]-- servers
 */
import { MemoryLink } from '../io/memory/link.js';
import { MemorySegment } from '../io/memory/segment.js';
import type { SvrConfig } from '../model/config.js';
import { createRouter, type Router, type RouterOptions } from '../router.js';
import { SimHost } from './host.js';

export interface MemoryLabOptions {
  config: SvrConfig;
  /** router names, default r1 and r2; each needs interfaces `lan0` and `wan0` */
  ingress?: string;
  egress?: string;
  clients: string[];
  servers: string[];
  router?: Omit<RouterOptions, 'name'>;
}

export interface MemoryLab {
  r1: Router;
  r2: Router;
  wan: MemoryLink;
  clientLan: MemorySegment;
  serverLan: MemorySegment;
  clients: SimHost[];
  servers: SimHost[];
  close(): Promise<void>;
}

export function createMemoryLab(o: MemoryLabOptions): MemoryLab {
  const wan = new MemoryLink('wan', 'r1.wan0', 'r2.wan0');
  const clientLan = new MemorySegment('client-lan');
  const serverLan = new MemorySegment('server-lan');
  const r1 = createRouter(o.config, { lan0: clientLan.gatewayPort(), wan0: wan.a }, { ...o.router, name: o.ingress ?? 'r1' });
  const r2 = createRouter(o.config, { lan0: serverLan.gatewayPort(), wan0: wan.b }, { ...o.router, name: o.egress ?? 'r2' });
  r1.start();
  r2.start();
  const clients = o.clients.map((a) => new SimHost({ address: a, port: clientLan.hostPort(a) }));
  const servers = o.servers.map((a) => new SimHost({ address: a, port: serverLan.hostPort(a) }));
  return {
    r1, r2, wan, clientLan, serverLan, clients, servers,
    async close() {
      for (const h of [...clients, ...servers]) h.close();
      await r1.stop();
      await r2.stop();
      wan.close();
      clientLan.close();
      serverLan.close();
    },
  };
}
