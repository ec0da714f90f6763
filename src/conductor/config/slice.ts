/**
 * One router's part of the authority (what the conductor sends it): the authority's policies, tenants
 * and plugins; the services that apply to this router (without applies-to, which named routers it does
 * not know); the router itself; and of each peer only what the paths need: its wan interfaces that
 * are path ends, with their adjacencies back to this router. The router validates and compiles the
 * slice with the same code as a config file (the conductor does too, before anything is sent).
 */
import { createHash } from 'node:crypto';
import { SvrError } from '../../errors.js';
import type { Router, SvrConfig } from '../../model/config.js';
import { compileRouter } from '../../model/compile.js';
import { servicesOf } from '../../model/applies-to.js';
import { configToDocument } from '../../model/serialize.js';
import { peerLinks } from '../../model/topology.js';
import { parseConfig } from '../../model/validate.js';

export interface RouterSlice {
  router: string;
  assetId: string;
  /** the authority's name */
  authority: string;
  /** the slice as the router receives it: JSON of the config's file form */
  text: string;
  /** SHA-256 of `text`, hex */
  hash: string;
}

export function routerSlice(config: SvrConfig, routerName: string): SvrConfig {
  const a = config.authority;
  const router = a.routers.find((r) => r.name === routerName);
  if (router === undefined) throw new SvrError('SVR_ERR_CONFIG_ROUTER', `no router "${routerName}" in authority "${a.name}"`);
  const links = peerLinks(a, router);
  const peers: Router[] = [];
  for (const peer of a.routers) {
    const mine = links.filter((l) => l.peer === peer);
    if (mine.length === 0) continue;
    const ends = new Set(mine.map((l) => l.remote));
    peers.push({
      name: peer.name,
      interfaces: peer.interfaces.filter((i) => ends.has(i)).map((i) => {
        const copy = { ...i };
        if (i.adjacencies !== undefined) copy.adjacencies = i.adjacencies.filter((x) => x.peer === router.name);
        return copy;
      }),
      routes: [],
      serviceRoutes: [],
      plugins: [],
    });
  }
  const services = servicesOf(a, router).map(({ appliesTo: _appliesTo, ...s }) => s);
  const { routerGroups: _groups, ...self } = router;
  const authority = { ...a, services, routers: [self, ...peers] };
  return { authority };
}

export function sliceText(slice: SvrConfig): string {
  return JSON.stringify(configToDocument(slice));
}

export function hashText(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/**
 * Every router's slice, each validated and compiled as the router will. A problem names the router and
 * the field (SVR_ERR_CONFIG_INVALID): a conductor bug or a config only a router's compiler refuses.
 */
export function routerSlices(config: SvrConfig): Map<string, RouterSlice> {
  const out = new Map<string, RouterSlice>();
  for (const router of config.authority.routers) {
    const text = sliceText(routerSlice(config, router.name));
    checkSlice(text, router.name);
    out.set(router.name, { router: router.name, assetId: router.assetId ?? router.name, authority: config.authority.name, text, hash: hashText(text) });
  }
  return out;
}

/** Validate and compile a router's slice (both ends run this: the conductor before it sends, the router before it prepares). */
export function checkSlice(text: string, routerName: string): SvrConfig {
  const config = parseConfig(text, `slice of router ${routerName}`, { machineJson: true });
  compileRouter(config, routerName, 0);
  return config;
}
