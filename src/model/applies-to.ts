/**
 * Which routers have a service (ssr-reference §1.1 `applies-to`): every router when the list is absent or
 * empty, else a router that any entry names (`authority`, the router by name, or a group it belongs to).
 */
import type { Authority, Router, Service } from './config.js';

export function serviceAppliesTo(service: Service, router: Router): boolean {
  const entries = service.appliesTo;
  if (entries === undefined || entries.length === 0) return true;
  return entries.some((e) => {
    if (e.type === 'authority') return true;
    if (e.type === 'router') return e.routers.includes(router.name);
    return e.groups.some((g) => router.routerGroups?.includes(g) === true);
  });
}

/** The services `router` has, in config order. */
export function servicesOf(authority: Authority, router: Router): Service[] {
  return authority.services.filter((s) => serviceAppliesTo(s, router));
}
