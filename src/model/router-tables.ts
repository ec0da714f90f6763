/**
 * ForwardingTables of one router: the compiled data (built by compile.ts) plus allocation-free
 * lookups over it. Lookup structures are private fields, so JSON.stringify and util.inspect show
 * only the contract fields; `toJSON` renders addresses as text and leaves keys out.
 */
import { formatAddress, type AddressFamily } from '../packet/addr.js';
import type { CompiledInterface, CompiledPath, CompiledPeer, CompiledService, Family, ForwardingTables } from './tables.js';
import { LOOKUP_NO_SERVICE, NO_INTERFACE, NO_PATH, NO_TENANT, ROUTE_BLACKHOLE } from './tables.js';
import type { NameTable } from './name-table.js';
import type { PrefixTrie } from './prefix-trie.js';
import type { AccessDecision, AccessTable } from './access-table.js';
import type { FibEntry, ServiceFib } from './service-fib.js';
import type { LearnedRoute, Rib, RibEntry } from './rib.js';
import type { PreparedTables } from './compile.js';
import type { ServiceArrays } from './service-arrays.js';

export interface RouterTablesParts {
  readonly generation: number;
  readonly sessionCapacity: number;
  readonly reassemblyMemory: number;
  readonly routerName: string;
  readonly authority: string;
  readonly tenants: NameTable;
  readonly services: readonly CompiledService[];
  readonly serviceNames: NameTable;
  readonly interfaces: readonly CompiledInterface[];
  readonly peers: readonly CompiledPeer[];
  readonly peerNames: NameTable;
  readonly paths: readonly CompiledPath[];
  readonly serviceArrays: ServiceArrays;
  /** source prefix -> tenant id */
  readonly members: PrefixTrie;
  /** per VRF index (0: default): destination prefix -> LAN interface index */
  readonly routes: readonly PrefixTrie[];
  /** per tenant id: the index in `routes` of the VRF the tenant routes in */
  readonly vrfOfTenant: Int32Array;
  /** VRF names by index (0: DEFAULT_VRF) */
  readonly vrfNames: readonly string[];
  /** per interface: remote waypoint -> path id (undefined when the interface has no paths) */
  readonly pathsByRemote: ReadonlyArray<PrefixTrie | undefined>;
  readonly fib: ServiceFib;
  readonly access: AccessTable;
  /** the RIB (shared with the tables compiled after it until the config changes) */
  readonly rib: Rib;
}

export class RouterTables implements ForwardingTables {
  readonly generation: number;
  readonly sessionCapacity: number;
  readonly reassemblyMemory: number;
  readonly routerName: string;
  readonly routerNameBytes: Uint8Array;
  readonly authority: string;
  readonly tenants: readonly string[];
  readonly tenantNameBytes: readonly Uint8Array[];
  readonly services: readonly CompiledService[];
  readonly interfaces: readonly CompiledInterface[];
  readonly peers: readonly CompiledPeer[];
  readonly paths: readonly CompiledPath[];
  readonly serviceArrays: ServiceArrays;

  readonly #tenants: NameTable;
  readonly #services: NameTable;
  readonly #peers: NameTable;
  readonly #interfaceIndex: ReadonlyMap<string, number>;
  readonly #interfaceTenant: Int32Array;
  readonly #members: PrefixTrie;
  readonly #routes: readonly PrefixTrie[];
  readonly #vrfOfTenant: Int32Array;
  readonly #vrfNames: readonly string[];
  readonly #pathsByRemote: ReadonlyArray<PrefixTrie | undefined>;
  readonly #fib: ServiceFib;
  readonly #access: AccessTable;
  readonly #rib: Rib;

  constructor(parts: RouterTablesParts) {
    this.generation = parts.generation;
    this.sessionCapacity = parts.sessionCapacity;
    this.reassemblyMemory = parts.reassemblyMemory;
    this.routerName = parts.routerName;
    this.routerNameBytes = new TextEncoder().encode(parts.routerName);
    this.authority = parts.authority;
    this.tenants = parts.tenants.names;
    this.tenantNameBytes = parts.tenants.bytes;
    this.services = parts.services;
    this.interfaces = parts.interfaces;
    this.peers = parts.peers;
    this.paths = parts.paths;
    this.serviceArrays = parts.serviceArrays;
    this.#rib = parts.rib;
    this.#tenants = parts.tenants;
    this.#services = parts.serviceNames;
    this.#peers = parts.peerNames;
    this.#interfaceIndex = new Map(parts.interfaces.map((i) => [i.name, i.index]));
    this.#interfaceTenant = Int32Array.from(parts.interfaces, (i) => i.tenant);
    this.#members = parts.members;
    this.#routes = parts.routes;
    this.#vrfOfTenant = parts.vrfOfTenant;
    this.#vrfNames = parts.vrfNames;
    this.#pathsByRemote = parts.pathsByRemote;
    this.#fib = parts.fib;
    this.#access = parts.access;
  }

  interfaceIndex(name: string): number {
    return this.#interfaceIndex.get(name) ?? NO_INTERFACE;
  }

  tenantId(name: string): number {
    return this.#tenants.id(name);
  }

  serviceId(name: string): number {
    const id = this.#services.id(name);
    return id === -1 ? LOOKUP_NO_SERVICE : id;
  }

  peerId(name: string): number {
    return this.#peers.id(name);
  }

  tenantIdFromBytes(buf: Uint8Array, off: number, len: number): number {
    const id = this.#tenants.idFromBytes(buf, off, len);
    return id === -1 ? NO_TENANT : id;
  }

  serviceIdFromBytes(buf: Uint8Array, off: number, len: number): number {
    const id = this.#services.idFromBytes(buf, off, len);
    return id === -1 ? LOOKUP_NO_SERVICE : id;
  }

  peerIdFromBytes(buf: Uint8Array, off: number, len: number): number {
    return this.#peers.idFromBytes(buf, off, len);
  }

  classifyTenant(ifIndex: number, buf: Uint8Array, srcOff: number, family: Family): number {
    if (ifIndex >= 0 && ifIndex < this.#interfaceTenant.length) {
      const tenant = this.#interfaceTenant[ifIndex]!;
      if (tenant !== NO_TENANT) return tenant;
    }
    const tenant = this.#members.lookup(buf, srcOff, family);
    return tenant === -1 ? NO_TENANT : tenant;
  }

  get prepared(): PreparedTables {
    return { router: this.routerName, access: this.#access.parts, fib: this.#fib.parts };
  }

  lookupService(tenant: number, buf: Uint8Array, srcOff: number, dstOff: number, family: Family, protocol: number, port: number): number {
    return this.#fib.lookup(tenant, buf, srcOff, dstOff, family, protocol, port);
  }

  lastServiceLookup(): { chosen?: FibEntry; refused?: FibEntry } {
    return this.#fib.lastLookup();
  }

  accessDecision(tenant: number, service: number, buf: Uint8Array, srcOff: number, family: Family): AccessDecision {
    return this.#access.decision(tenant, service, buf, srcOff, family);
  }

  /** The RIB now (made on demand: views, `svr explain`); a RIB change after this compile shows here too. */
  get rib(): readonly RibEntry[] {
    return this.#rib.entries();
  }

  /** The learned routes of the RIB now (a worker thread compiles its tables from the config and these). */
  learnedRoutes(): LearnedRoute[] {
    return this.#rib.learnedRoutes();
  }

  routeLocal(tenant: number, buf: Uint8Array, dstOff: number, family: Family): number {
    const vrf = this.#vrf(tenant);
    const index = this.#routes[vrf]!.lookup(buf, dstOff, family);
    return index === -1 || index === ROUTE_BLACKHOLE ? NO_INTERFACE : index;
  }

  vrfName(tenant: number): string {
    return this.#vrfNames[this.#vrf(tenant)]!;
  }

  #vrf(tenant: number): number {
    return tenant >= 0 && tenant < this.#vrfOfTenant.length ? this.#vrfOfTenant[tenant]! : 0;
  }

  pathFrom(ifIndex: number, buf: Uint8Array, srcOff: number, family: Family): number {
    const trie = ifIndex >= 0 ? this.#pathsByRemote[ifIndex] : undefined;
    if (trie === undefined) return NO_PATH;
    const path = trie.lookup(buf, srcOff, family);
    return path === -1 ? NO_PATH : path;
  }

  /** A readable view for `svr show`: addresses as text, byte arrays and keys left out (the RIB: `svr show rib`). */
  toJSON(): unknown {
    const address = (bytes: Uint8Array): string => (bytes.length === 0 ? '' : formatAddress(bytes, 0, (bytes.length === 4 ? 4 : 6) as AddressFamily));
    return {
      generation: this.generation,
      sessionCapacity: this.sessionCapacity,
      reassemblyMemory: this.reassemblyMemory,
      routerName: this.routerName,
      authority: this.authority,
      tenants: this.tenants,
      services: this.services.map(({ nameBytes: _, routes, policy: { costOf: _c, ...policy }, ...s }) => ({
        ...s,
        policy,
        routes: routes.map((r) => (r.kind === 'local' && r.gateway !== undefined ? { ...r, gateway: address(r.gateway) } : r)),
      })),
      interfaces: this.interfaces.map((i) => ({ ...i, waypoint: address(i.waypoint) })),
      peers: this.peers.map(({ nameBytes: _, ...p }) => p),
      paths: this.paths.map((p) => ({
        ...p,
        localWaypoint: address(p.localWaypoint),
        remoteWaypoint: address(p.remoteWaypoint),
        hmac: { mode: p.hmac.mode, cipher: p.hmac.cipher, tagLength: p.hmac.tagLength, keyVersion: p.hmac.keyVersion },
      })),
    };
  }
}
