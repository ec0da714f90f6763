/**
 * Second validation pass, across objects: unique names, references that must resolve, addresses
 * that must not be claimed twice, the authority secret when a signing policy has no key, and
 * agreement between the two ends of every peer path (HMAC settings, waypoint port ranges).
 */
import { formatAddress, formatPrefix, maskPrefix, parseAddress, parsePrefix } from '../packet/addr.js';
import type { Authority, Interface, Router, SecurityPolicy } from './config.js';
import type { Origins } from './fields.js';
import { didYouMean, formatPath, describe, type FieldPath, type PathSegment, type Problems } from './problems.js';
import { SECRET_MIN_HEX_DIGITS } from './read-authority.js';
import { endpointName, meshLinks } from './topology.js';

export function checkReferences(authority: Authority, origins: Origins, problems: Problems): void {
  const at = (obj: object, ...more: PathSegment[]): FieldPath => [...(origins.get(obj) ?? []), ...more];
  const check = new ReferenceChecks(authority, at, problems);
  check.uniqueNames();
  check.tenantMembers();
  check.services();
  check.routers();
  check.secret();
  check.pathEnds();
}

class ReferenceChecks {
  readonly #tenants: Set<string>;
  readonly #services: Set<string>;
  readonly #policies: Map<string, SecurityPolicy>;
  readonly #servicePolicies: Set<string>;

  constructor(
    readonly a: Authority,
    readonly at: (obj: object, ...more: PathSegment[]) => FieldPath,
    readonly problems: Problems,
  ) {
    this.#tenants = new Set(a.tenants.map((t) => t.name));
    this.#services = new Set(a.services.map((s) => s.name));
    this.#policies = new Map(a.securityPolicies.map((p) => [p.name, p]));
    this.#servicePolicies = new Set(a.servicePolicies.map((p) => p.name));
  }

  uniqueNames(): void {
    const { a } = this;
    this.#unique(a.securityPolicies, 'security policy');
    this.#unique(a.tenants, 'tenant');
    this.#unique(a.services, 'service');
    this.#unique(a.servicePolicies, 'service-policy');
    this.#unique(a.routers, 'router');
    for (const router of a.routers) {
      this.#unique(router.interfaces, `interface of router ${describe(router.name)}`);
      this.#unique(router.serviceRoutes, `service-route of router ${describe(router.name)}`);
    }
  }

  /** A source prefix belongs to one tenant only. */
  tenantMembers(): void {
    const owners = new Map<string, FieldPath>();
    for (const tenant of this.a.tenants) {
      tenant.members.forEach((member, i) => {
        const prefix = parsePrefix(member);
        if (prefix === undefined) return;
        const key = formatPrefix(maskPrefix(prefix));
        const first = owners.get(key);
        if (first !== undefined) this.problems.add(this.at(tenant, 'members', i), `${key} is already a member at ${formatPath(first)}`);
        else owners.set(key, this.at(tenant, 'members', i));
      });
    }
  }

  services(): void {
    for (const service of this.a.services) {
      const seen = new Map<string, number>();
      service.addresses.forEach((address, i) => {
        const prefix = parsePrefix(address);
        if (prefix === undefined) return;
        const key = formatPrefix(maskPrefix(prefix));
        if (seen.has(key)) this.problems.add(this.at(service, 'addresses', i), `duplicate address ${key} (also at addresses[${seen.get(key)}])`);
        else seen.set(key, i);
      });
      if (!this.#servicePolicies.has(service.servicePolicy)) {
        this.#unknown(this.at(service, 'service-policy'), 'service-policy', service.servicePolicy, this.#servicePolicies);
      }
      if (service.security !== undefined && !this.#policies.has(service.security)) {
        this.#unknown(this.at(service, 'security'), 'security policy', service.security, this.#policies.keys());
      }
      const sources = new Map<string, number>();
      service.accessPolicy.forEach((rule, i) => {
        if (sources.has(rule.source)) this.problems.add(this.at(rule, 'source'), `duplicate source ${describe(rule.source)} (also at access-policy[${sources.get(rule.source)}])`);
        else sources.set(rule.source, i);
        if (rule.tenant !== undefined && !this.#tenants.has(rule.tenant)) {
          this.#unknown(this.at(rule, 'source'), 'tenant', rule.tenant, this.#tenants);
        }
      });
    }
  }

  routers(): void {
    const waypoints = new Map<string, string>();
    for (const router of this.a.routers) {
      const byName = new Map(router.interfaces.map((i) => [i.name, i]));
      for (const iface of router.interfaces) {
        if (iface.tenant !== undefined && !this.#tenants.has(iface.tenant)) this.#unknown(this.at(iface, 'tenant'), 'tenant', iface.tenant, this.#tenants);
        if (iface.kind === 'wan' && !this.#policies.has(iface.security)) this.#unknown(this.at(iface, 'security'), 'security policy', iface.security, this.#policies.keys());
        const address = iface.waypoint === undefined ? undefined : parseAddress(iface.waypoint);
        if (address !== undefined) {
          const key = formatAddress(address.bytes, 0, address.family);
          const owner = waypoints.get(key);
          if (owner !== undefined) this.problems.add(this.at(iface, 'waypoint'), `waypoint ${key} is already used by ${owner}`);
          else waypoints.set(key, endpointName(router, iface));
        }
      }
      const routePrefixes = new Set<string>();
      for (const route of router.routes) {
        this.#lanInterface(router, byName, route.interface, this.at(route, 'interface'));
        const prefix = parsePrefix(route.prefix);
        if (prefix === undefined) continue;
        const key = formatPrefix(maskPrefix(prefix));
        if (routePrefixes.has(key)) this.problems.add(this.at(route, 'prefix'), `duplicate route for ${key} on router ${describe(router.name)}`);
        routePrefixes.add(key);
      }
      this.#serviceRoutes(router, byName);
    }
  }

  /** `authority.secret` is needed when a WAN interface uses a signing policy without its own key. */
  secret(): void {
    if (this.a.secret !== undefined) return;
    const users = new Map<string, string[]>();
    for (const router of this.a.routers) {
      for (const iface of router.interfaces) {
        const policy = iface.kind === 'wan' ? this.#policies.get(iface.security) : undefined;
        if (policy === undefined || (policy.hmacMode === 'disabled' && !policy.encrypt) || policy.key !== undefined) continue;
        users.set(policy.name, [...(users.get(policy.name) ?? []), endpointName(router, iface)]);
      }
    }
    for (const service of this.a.services) {
      // payload encryption derives its keys from the policy key or the secret too
      const policy = service.security === undefined ? undefined : this.#policies.get(service.security);
      if (policy === undefined || !policy.encrypt || policy.key !== undefined) continue;
      users.set(policy.name, [...(users.get(policy.name) ?? []), `service ${service.name}`]);
    }
    if (users.size === 0) return;
    const why = [...users].map(([name, ifs]) => `security policy ${describe(name)} (used by ${ifs.join(', ')})`).join(', ');
    this.problems.missing(
      [...this.at(this.a), 'secret'],
      `a hex secret of at least ${SECRET_MIN_HEX_DIGITS} hex digits, because ${why} signs or encrypts packets and has no \`key\``,
    );
  }

  /** Both ends of a path must sign alike and share waypoint ports (checked once per pair). */
  pathEnds(): void {
    const routers = this.a.routers;
    routers.forEach((router, i) => {
      for (const link of meshLinks(this.a, router)) {
        if (routers.indexOf(link.peer) < i) continue;
        const ends = `${endpointName(router, link.local)} and ${endpointName(link.peer, link.remote)} (neighborhood ${describe(link.neighborhood)})`;
        const mine = this.#policies.get(link.local.security);
        const theirs = this.#policies.get(link.remote.security);
        const differs = mine !== undefined && theirs !== undefined ? hmacDifference(mine, theirs) : undefined;
        if (differs !== undefined) {
          this.problems.add(this.at(link.local, 'security'), `${ends} must sign alike, but their security policies differ in ${differs}`);
        }
        const from = Math.max(link.local.portRange.from, link.remote.portRange.from);
        const to = Math.min(link.local.portRange.to, link.remote.portRange.to);
        if (to - from < 1) {
          this.problems.add(this.at(link.local, 'port-range'), `${ends} need at least two waypoint ports in common, but their port-ranges do not overlap`);
        }
      }
    });
  }

  #serviceRoutes(router: Router, byName: Map<string, Interface>): void {
    const links = meshLinks(this.a, router);
    const routerNames = this.a.routers.map((r) => r.name);
    for (const route of router.serviceRoutes) {
      if (!this.#services.has(route.service)) this.#unknown(this.at(route, 'service'), 'service', route.service, this.#services);
      if (route.nextHop !== undefined) this.#lanInterface(router, byName, route.nextHop.interface, this.at(route, 'next-hop', 'interface'));
      const peer = route.peer;
      if (peer === undefined) continue;
      const path = this.at(route, 'peer');
      if (peer === router.name) this.problems.add(path, `a router cannot be its own peer; use \`next-hop\` to deliver locally`);
      else if (!routerNames.includes(peer)) this.#unknown(path, 'router', peer, routerNames);
      else if (!links.some((l) => l.peer.name === peer) && !this.#brokenWan(router) && !this.#brokenWan(this.a.routers.find((r) => r.name === peer)!)) {
        this.problems.add(path, `router ${describe(peer)} shares no neighborhood (with a matching address family) with router ${describe(router.name)}, so there is no path to it`);
      }
    }
  }

  /** A WAN interface without a usable waypoint is reported already; do not also report missing paths. */
  #brokenWan(router: Router): boolean {
    return router.interfaces.some((i) => i.kind === 'wan' && (i.waypoint === undefined || parseAddress(i.waypoint) === undefined));
  }

  #lanInterface(router: Router, byName: Map<string, Interface>, name: string, path: FieldPath): void {
    const iface = byName.get(name);
    if (iface === undefined) this.#unknown(path, `interface of router ${describe(router.name)}`, name, byName.keys());
    else if (iface.kind !== 'lan') this.problems.add(path, `expected a lan interface, got ${iface.kind} interface ${describe(name)}`);
  }

  #unique(items: ReadonlyArray<{ name: string }>, kind: string): void {
    const first = new Map<string, object>();
    for (const item of items) {
      const earlier = first.get(item.name);
      if (earlier !== undefined) this.problems.add(this.at(item, 'name'), `duplicate ${kind} name ${describe(item.name)} (first at ${formatPath(this.at(earlier))})`);
      else first.set(item.name, item);
    }
  }

  #unknown(path: FieldPath, kind: string, name: string, known: Iterable<string>): void {
    const names = [...known];
    const guess = didYouMean(name, names);
    const hint = guess !== undefined ? `did you mean ${describe(guess)}?` : names.length === 0 ? 'none are defined' : `known: ${names.join(', ')}`;
    this.problems.add(path, `unknown ${kind} ${describe(name)}; ${hint}`);
  }
}

/** Which HMAC settings differ between two policies (key values are never printed), or undefined. */
function hmacDifference(a: SecurityPolicy, b: SecurityPolicy): string | undefined {
  const diffs: string[] = [];
  if (a.hmacMode !== b.hmacMode) diffs.push(`hmac-mode (${a.hmacMode} vs ${b.hmacMode})`);
  if (a.hmacMode !== 'disabled' || b.hmacMode !== 'disabled') {
    if (a.hmacCipher !== b.hmacCipher) diffs.push(`hmac-cipher (${a.hmacCipher} vs ${b.hmacCipher})`);
    if (a.key?.toLowerCase() !== b.key?.toLowerCase()) diffs.push('key');
    if (a.keyVersion !== b.keyVersion) diffs.push(`key-version (${a.keyVersion} vs ${b.keyVersion})`);
  }
  return diffs.length === 0 ? undefined : `${diffs.join(', ')} (policies ${describe(a.name)} and ${describe(b.name)})`;
}
