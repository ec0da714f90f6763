/**
 * Second validation pass, across objects: unique names (and asset ids), references that must resolve
 * (including adjacencies and applies-to), addresses that must not be claimed twice, the authority secret
 * when a signing policy has no key, agreement between the two ends of every peer path (both ends have it,
 * HMAC settings, waypoint port ranges), and encryption only where packets are authenticated
 * (docs/security.md "No unauthenticated state change").
 */
import { formatAddress, formatPrefix, maskPrefix, parseAddress, parsePrefix } from '../packet/addr.js';
import type { Authority, Interface, Route, Router, SecurityPolicy, Service } from './config.js';
import type { Origins } from './fields.js';
import { didYouMean, formatPath, describe, type FieldPath, type PathSegment, type Problems } from './problems.js';
import { SECRET_MIN_HEX_DIGITS } from './read-authority.js';
import { serviceAppliesTo } from './applies-to.js';
import { observationDomains } from './read-telemetry.js';
import { endpointName, peerLinks } from './topology.js';

export function checkReferences(authority: Authority, origins: Origins, problems: Problems): void {
  const at = (obj: object, ...more: PathSegment[]): FieldPath => [...(origins.get(obj) ?? []), ...more];
  const check = new ReferenceChecks(authority, at, problems);
  check.uniqueNames();
  check.tenantMembers();
  check.services();
  check.routers();
  check.secret();
  check.pathEnds();
  check.telemetry();
  check.encryptionNeedsAuthentication();
  check.identities();
}

class ReferenceChecks {
  readonly #tenants: Set<string>;
  /** services by name, the first of each name (duplicates are reported by #unique) */
  readonly #services: Map<string, Service>;
  readonly #policies: Map<string, SecurityPolicy>;
  readonly #servicePolicies: Set<string>;

  constructor(
    readonly a: Authority,
    readonly at: (obj: object, ...more: PathSegment[]) => FieldPath,
    readonly problems: Problems,
  ) {
    this.#tenants = new Set(a.tenants.map((t) => t.name));
    this.#services = new Map();
    for (const s of a.services) if (!this.#services.has(s.name)) this.#services.set(s.name, s);
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
    const assets = new Map<string, object>();
    for (const router of a.routers) {
      const id = router.assetId ?? router.name;
      const earlier = assets.get(id);
      const where = router.assetId === undefined ? this.at(router, 'name') : this.at(router, 'asset-id');
      if (earlier !== undefined) this.problems.add(where, `asset id ${describe(id)} is already the asset id of ${formatPath(this.at(earlier))} (a router's asset-id defaults to its name)`);
      else assets.set(id, router);
    }
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
      this.#appliesTo(service.appliesTo ?? []);
    }
  }

  #appliesTo(entries: NonNullable<Service['appliesTo']>): void {
    const routerNames = this.a.routers.map((r) => r.name);
    const groups = new Set(this.a.routers.flatMap((r) => r.routerGroups ?? []));
    for (const entry of entries) {
      if (entry.type === 'router') {
        entry.routers.forEach((name, j) => {
          if (!routerNames.includes(name)) this.#unknown(this.at(entry, 'routers', j), 'router', name, routerNames);
        });
      } else if (entry.type === 'router-group') {
        entry.groups.forEach((name, j) => {
          if (!groups.has(name)) this.#unknown(this.at(entry, 'groups', j), 'router-group (no router lists it in `router-groups`)', name, groups);
        });
      }
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
      this.#staticRoutes(router, byName, router.routes, '');
      this.#serviceRoutes(router, byName);
      if (router.routing !== undefined) {
        this.#lanInterface(router, byName, router.routing.interface, this.at(router.routing, 'interface'));
        for (const vrf of router.routing.vrfs) {
          this.#staticRoutes(router, byName, vrf.routes, ` in VRF ${describe(vrf.name)}`);
          vrf.tenants.forEach((tenant, j) => {
            if (!this.#tenants.has(tenant)) this.#unknown(this.at(vrf, 'tenants', j), 'tenant', tenant, this.#tenants);
          });
        }
      }
      this.#adjacencies(router);
    }
  }

  /** Static routes (the router's, or a VRF's): through a lan interface of the router, one per prefix. */
  #staticRoutes(router: Router, byName: Map<string, Interface>, routes: readonly Route[], where: string): void {
    const routePrefixes = new Set<string>();
    for (const route of routes) {
      if (route.interface !== undefined) this.#lanInterface(router, byName, route.interface, this.at(route, 'interface'));
      const prefix = parsePrefix(route.prefix);
      if (prefix === undefined) continue;
      const key = formatPrefix(maskPrefix(prefix));
      if (routePrefixes.has(key)) this.problems.add(this.at(route, 'prefix'), `duplicate route for ${key} on router ${describe(router.name)}${where}`);
      routePrefixes.add(key);
    }
  }

  /** Each adjacency names another router's wan interface (same address family) and one of this interface's neighborhoods, once. */
  #adjacencies(router: Router): void {
    for (const iface of router.interfaces) {
      const seen = new Set<string>();
      for (const adj of iface.adjacencies ?? []) {
        const key = `${adj.peer}/${adj.interface}`;
        if (seen.has(key)) this.problems.add(this.at(adj, 'interface'), `duplicate adjacency to ${key} on ${endpointName(router, iface)}`);
        seen.add(key);
        if (!iface.neighborhoods.some((n) => n.name === adj.neighborhood)) {
          this.#unknown(this.at(adj, 'neighborhood'), `neighborhood of ${endpointName(router, iface)}`, adj.neighborhood, iface.neighborhoods.map((n) => n.name));
        }
        const routerNames = this.a.routers.map((r) => r.name);
        if (adj.peer === router.name) {
          this.problems.add(this.at(adj, 'peer'), 'an adjacency names another router; a router is not its own peer');
          continue;
        }
        const peer = this.a.routers.find((r) => r.name === adj.peer);
        if (peer === undefined) {
          this.#unknown(this.at(adj, 'peer'), 'router', adj.peer, routerNames);
          continue;
        }
        const remote = peer.interfaces.find((i) => i.name === adj.interface);
        if (remote === undefined) this.#unknown(this.at(adj, 'interface'), `interface of router ${describe(peer.name)}`, adj.interface, peer.interfaces.filter((i) => i.kind === 'wan').map((i) => i.name));
        else if (remote.kind !== 'wan') this.problems.add(this.at(adj, 'interface'), `expected a wan interface of router ${describe(peer.name)}, got ${remote.kind} interface ${describe(remote.name)}`);
        else {
          const mine = iface.waypoint === undefined ? undefined : parseAddress(iface.waypoint);
          const theirs = remote.waypoint === undefined ? undefined : parseAddress(remote.waypoint);
          if (mine !== undefined && theirs !== undefined && mine.family !== theirs.family) {
            this.problems.add(this.at(adj, 'interface'), `${endpointName(peer, remote)} has an IPv${theirs.family} waypoint, ${endpointName(router, iface)} an IPv${mine.family} one: a path needs one address family`);
          }
        }
      }
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

  /** Both ends of a path must have it, sign alike and share waypoint ports (checked once per pair). */
  pathEnds(): void {
    const routers = this.a.routers;
    const all = new Map(routers.map((r) => [r, peerLinks(this.a, r)]));
    routers.forEach((router, i) => {
      for (const link of all.get(router) ?? []) {
        const back = (all.get(link.peer) ?? []).some((l) => l.peer === router && l.local === link.remote && l.remote === link.local);
        if (!back) {
          const adj = link.local.adjacencies?.find((x) => x.peer === link.peer.name && x.interface === link.remote.name);
          const at = adj === undefined ? this.at(link.local, 'neighborhoods') : this.at(adj, 'peer');
          this.problems.add(at, `${endpointName(link.peer, link.remote)} has no path back to ${endpointName(router, link.local)}: add an adjacency { peer: ${router.name}, interface: ${link.local.name}, neighborhood: ${link.neighborhood} } to it, or remove this one`);
          continue;
        }
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

  /** Collectors' tenant filters name tenants; every router exports under its own observation domain. */
  telemetry(): void {
    const t = this.a.telemetry;
    t.ipfix.collectors.forEach((c, i) => c.tenants.forEach((tenant, j) => {
      if (!this.#tenants.has(tenant)) this.#unknown([...this.at(t), 'ipfix', 'collectors', i, 'tenants', j], 'tenant', tenant, this.#tenants);
    }));
    const owner = new Map<number, string>();
    const ids = observationDomains(this.a.routers);
    this.a.routers.forEach((router, i) => {
      const id = ids[i]!;
      const other = owner.get(id);
      if (other === undefined) owner.set(id, router.name);
      else {
        const how = router.observationDomainId === undefined ? ` (its default: position ${i} + 1); set \`observation-domain-id\` on one of them` : '';
        this.problems.add(this.at(router, 'observation-domain-id'), `router ${describe(router.name)} exports under observation domain ${id}, as router ${describe(other)} does${how}`);
      }
    });
  }

  /**
   * Encryption without authentication is refused: a wan policy that encrypts metadata must sign
   * (AES-CBC can be changed undetected, and nothing would stop replays); a service whose payload is
   * encrypted with AES-CBC must only use paths that sign every packet (GCM authenticates itself).
   */
  encryptionNeedsAuthentication(): void {
    const wanPolicies = new Map<string, string[]>();
    for (const router of this.a.routers) {
      for (const iface of router.interfaces) {
        if (iface.kind === 'wan') wanPolicies.set(iface.security, [...(wanPolicies.get(iface.security) ?? []), endpointName(router, iface)]);
      }
    }
    for (const policy of this.a.securityPolicies) {
      const users = wanPolicies.get(policy.name);
      if (!policy.encrypt || policy.hmacMode !== 'disabled' || users === undefined) continue;
      this.problems.add(
        this.at(policy, 'encrypt'),
        `metadata encryption needs authenticated packets, but this policy has hmac-mode disabled (used by ${users.join(', ')}): `
        + 'set hmac-mode to time-based, regular or metadata-only, or encrypt to false',
      );
    }
    for (const router of this.a.routers) {
      const links = peerLinks(this.a, router);
      for (const route of router.serviceRoutes) {
        const service = this.#services.get(route.service);
        const payload = service?.security === undefined ? undefined : this.#policies.get(service.security);
        if (service === undefined || payload === undefined || !payload.encrypt || payload.encryptionCipher === 'aes-gcm-256' || route.peer === undefined) continue;
        for (const link of links) {
          const mode = link.peer.name === route.peer ? this.#policies.get(link.local.security)?.hmacMode : undefined;
          if (mode !== 'disabled' && mode !== 'metadata-only') continue;
          this.problems.add(
            this.at(service, 'security'),
            `payload encryption with ${payload.encryptionCipher} needs every packet authenticated, but router ${describe(router.name)} sends `
            + `service ${describe(service.name)} on ${endpointName(router, link.local)} whose security policy ${describe(link.local.security)} has hmac-mode ${mode}: `
            + 'use hmac-mode time-based or regular on that interface, or encryption-cipher aes-gcm-256',
          );
        }
      }
    }
  }

  /**
   * Router identities: a public key belongs to one router; a router whose wan interfaces use a
   * `key-exchange: handshake` policy needs one (path control runs the exchange with the peer's public
   * key). A handshake policy must sign (hmac-mode other than `disabled`): its keys are what it signs with.
   */
  identities(): void {
    const owners = new Map<string, string>();
    for (const router of this.a.routers) {
      const key = router.identity?.publicKey;
      if (key === undefined) continue;
      const owner = owners.get(key);
      if (owner !== undefined) this.problems.add(this.at(router.identity!, 'public-key'), `the same public key as router ${describe(owner)}: every router needs its own key pair`);
      else owners.set(key, router.name);
    }
    const handshake = new Set(this.a.securityPolicies.filter((p) => p.keyExchange === 'handshake').map((p) => p.name));
    const used = new Set<string>();
    for (const router of this.a.routers) {
      const ifs = router.interfaces.filter((i) => i.kind === 'wan' && handshake.has(i.security));
      if (ifs.length === 0) continue;
      for (const i of ifs) used.add(i.security);
      if (router.identity === undefined) {
        this.problems.missing([...this.at(router), 'identity'], `an identity with a public-key, because ${ifs.map((i) => endpointName(router, i)).join(', ')} use key-exchange: handshake`);
      }
    }
    for (const policy of this.a.securityPolicies) {
      if (!used.has(policy.name) || policy.hmacMode !== 'disabled') continue;
      this.problems.add(this.at(policy, 'key-exchange'), 'key-exchange: handshake agrees the keys packets are signed with, but hmac-mode is disabled: use hmac-mode time-based, regular or metadata-only, or key-exchange: static');
    }
  }

  #serviceRoutes(router: Router, byName: Map<string, Interface>): void {
    const links = peerLinks(this.a, router);
    const routerNames = this.a.routers.map((r) => r.name);
    for (const route of router.serviceRoutes) {
      const service = this.#services.get(route.service);
      if (service === undefined) this.#unknown(this.at(route, 'service'), 'service', route.service, this.#services.keys());
      else if (!serviceAppliesTo(service, router)) {
        this.problems.add(this.at(route, 'service'), `service ${describe(service.name)} does not apply to router ${describe(router.name)} (see its applies-to); add the router to it or remove this service-route`);
      }
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
    if (a.keyExchange !== b.keyExchange) diffs.push(`key-exchange (${a.keyExchange} vs ${b.keyExchange})`);
  }
  return diffs.length === 0 ? undefined : `${diffs.join(', ')} (policies ${describe(a.name)} and ${describe(b.name)})`;
}
