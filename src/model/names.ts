/**
 * Naming rules shared by validation and compilation.
 * Router names: `[A-Za-z0-9_-]{1,63}`, not `all`, `any` or `unknown` (as SSR).
 * Tenant and service names: dotted segments of that charset; `dev.engineering` is a child of `engineering`.
 * Other names (policies, interfaces, neighborhoods, vectors, service-routes): `[A-Za-z0-9_.-]{1,63}`.
 */
import { parseAddress } from '../packet/addr.js';

const SEGMENT = /^[A-Za-z0-9_-]{1,63}$/;
const PLAIN = /^[A-Za-z0-9_.-]{1,63}$/;
const MAX_DOTTED_LENGTH = 255;

export const RESERVED_ROUTER_NAMES: readonly string[] = ['all', 'any', 'unknown'];

export function isAuthorityName(name: string): boolean {
  return SEGMENT.test(name);
}

export function isRouterName(name: string): boolean {
  return SEGMENT.test(name) && !RESERVED_ROUTER_NAMES.includes(name.toLowerCase());
}

export function isDottedName(name: string): boolean {
  return name.length <= MAX_DOTTED_LENGTH && name.split('.').every((s) => SEGMENT.test(s));
}

/** A dotted name that does not also read as an address (access-rule sources must be unambiguous). */
export function isTenantName(name: string): boolean {
  return isDottedName(name) && parseAddress(name) === undefined;
}

export function isPlainName(name: string): boolean {
  return PLAIN.test(name);
}

/** Segments in a dotted tenant name: `engineering` 1, `dev.engineering` 2. */
export function tenantDepth(name: string): number {
  let depth = 1;
  for (let i = 0; i < name.length; i++) if (name.charCodeAt(i) === 46) depth++;
  return depth;
}

/** The names `tenant` is within (isTenantWithin): itself and each ancestor (`dev.engineering`, `engineering`). */
export function tenantAndAncestors(tenant: string): Set<string> {
  const out = new Set<string>([tenant]);
  for (let i = tenant.indexOf('.'); i >= 0; i = tenant.indexOf('.', i + 1)) out.add(tenant.slice(i + 1));
  return out;
}

/** True when `tenant` is `ancestor` or one of its descendants (`dev.engineering` under `engineering`). */
export function isTenantWithin(tenant: string, ancestor: string): boolean {
  return tenant === ancestor || tenant.endsWith(`.${ancestor}`);
}

/** How each kind of name is described in validation messages. */
export const NAME_RULES = {
  authority: 'an authority name: 1-63 letters, digits, "_" or "-"',
  router: 'a router name: 1-63 letters, digits, "_" or "-", not all/any/unknown',
  plain: 'a name: 1-63 letters, digits, ".", "_" or "-"',
  tenant: 'a tenant name: dot-separated segments of 1-63 letters, digits, "_" or "-" (not an address)',
  service: 'a service name: dot-separated segments of 1-63 letters, digits, "_" or "-"',
} as const;
