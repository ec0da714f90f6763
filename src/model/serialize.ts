/**
 * A validated config back in its file form (kebab-case keys, port ranges as "from-to"), so that a
 * config built or changed in code goes through exactly the validation a file gets, and so that
 * `svr show config` prints something you can paste into a file.
 */
import { telemetryToDocument } from './read-telemetry.js';
import type { AccessRule, BfdSettings, Interface, Management, PluginRef, PortRange, Route, Router, Routing, Service, ServicePolicy, SvrConfig } from './config.js';

type Doc = Record<string, unknown>;

const range = (r: PortRange): string | number => (r.from === r.to ? r.from : `${r.from}-${r.to}`);

/** Drops undefined fields so the document has only what was set. */
function clean(o: Doc): Doc {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined));
}

function accessRule(a: AccessRule): Doc {
  return { source: a.source, permission: a.permission };
}

function service(s: Service): Doc {
  return clean({
    name: s.name,
    addresses: s.addresses,
    transport: s.transport.map((t) => clean({ protocol: t.protocol, ports: t.ports.length > 0 ? t.ports.map(range) : undefined })),
    'access-policy': s.accessPolicy.map(accessRule),
    'service-policy': s.servicePolicy,
    security: s.security,
    timeouts: { 'tcp-initial': s.timeouts.tcpInitial, tcp: s.timeouts.tcp, udp: s.timeouts.udp, icmp: s.timeouts.icmp, other: s.timeouts.other },
    'service-chain': s.serviceChain.length > 0 ? s.serviceChain : undefined,
    'applies-to': s.appliesTo?.map((e) => clean({ type: e.type, routers: e.type === 'router' ? e.routers : undefined, groups: e.type === 'router-group' ? e.groups : undefined })),
  });
}

function bfd(b: BfdSettings | undefined): Doc | undefined {
  if (b === undefined) return undefined;
  return {
    'desired-tx-interval': b.desiredTxInterval,
    'required-min-rx-interval': b.requiredMinRxInterval,
    multiplier: b.multiplier,
    'hold-down-time': b.holdDownTime,
    'link-test-interval': b.linkTestInterval,
    'link-test-length': b.linkTestLength,
  };
}

function servicePolicy(p: ServicePolicy): Doc {
  return clean({
    name: p.name,
    'transport-state-enforcement': p.transportStateEnforcement,
    vectors: p.vectors.length > 0 ? p.vectors.map((v) => ({ name: v.name, cost: v.cost })) : undefined,
    'vector-order': p.vectorOrder.length > 0 ? p.vectorOrder : undefined,
    'path-quality-filter': p.pathQualityFilter,
    'max-latency': p.maxLatency,
    'max-jitter': p.maxJitter,
    'max-loss': p.maxLoss,
    'min-mos': p.minMos,
    'best-effort': p.bestEffort,
    'best-path-criteria': p.bestPathCriteria,
    'session-resiliency': p.sessionResiliency,
    fec: p.fec.enabled ? { enabled: true, 'group-size': p.fec.groupSize, parity: p.fec.parity, 'flush-ms': p.fec.flushMs } : undefined,
  });
}

function iface(i: Interface): Doc {
  const noWan = i.kind !== 'wan';
  return clean({
    name: i.name,
    kind: i.kind,
    tenant: i.tenant,
    waypoint: i.waypoint,
    neighborhoods: noWan ? undefined : i.neighborhoods.map((n) => clean({ name: n.name, vector: n.vector, topology: n.topology, bfd: bfd(n.bfd), 'peer-connectivity': n.peerConnectivity, 'nat-keep-alive': n.natKeepAlive, 'path-mtu-discovery': n.pathMtuDiscovery, 'udp-transform': n.udpTransform === undefined ? undefined : { mode: n.udpTransform.mode, 'detect-interval': n.udpTransform.detectInterval } })),
    adjacencies: noWan ? undefined : i.adjacencies?.map((x) => ({ peer: x.peer, interface: x.interface, neighborhood: x.neighborhood, generated: x.generated })),
    security: noWan ? undefined : i.security,
    'port-range': noWan ? undefined : `${i.portRange.from}-${i.portRange.to}`,
    device: i.device,
    mtu: i.mtu,
    'enforced-mss': noWan ? undefined : i.enforcedMss,
    fragmentation: noWan ? undefined : i.fragmentation,
    'kernel-routes': i.kernelRoutes.length > 0 ? i.kernelRoutes.map((k) => clean({ prefix: k.prefix, table: k.table })) : undefined,
    'shaping-rate': i.shapingRate,
    'shaping-shares': i.shapingShares,
    node: i.node,
  });
}

function plugin(p: PluginRef): Doc {
  return clean({ use: p.use, with: p.with, 'fail-open': p.failOpen });
}

function router(r: Router): Doc {
  return clean({
    name: r.name,
    'observation-domain-id': r.observationDomainId,
    identity: r.identity === undefined ? undefined : clean({ 'public-key': r.identity.publicKey, 'private-key-file': r.identity.privateKeyFile }),
    'asset-id': r.assetId,
    'session-capacity': r.sessionCapacity,
    'reassembly-memory': r.reassemblyMemory,
    'router-groups': r.routerGroups,
    interfaces: r.interfaces.map(iface),
    routes: r.routes.map(route),
    'service-routes': r.serviceRoutes.map((x) => clean({
      name: x.name, service: x.service, peer: x.peer, 'use-learned-routes': x.useLearnedRoutes,
      'next-hop': x.nextHop === undefined ? undefined : clean({ interface: x.nextHop.interface, gateway: x.nextHop.gateway }),
    })),
    plugins: r.plugins.length > 0 ? r.plugins.map(plugin) : undefined,
    management: r.management === undefined ? undefined : management(r.management),
    routing: r.routing === undefined ? undefined : routing(r.routing),
    redundancy: r.redundancy === undefined ? undefined : clean({
      nodes: r.redundancy.nodes.map((n) => clean({ name: n.name, priority: n.priority, 'sync-address': n.syncAddress, 'probe-address': n.probeAddress })),
      preempt: r.redundancy.preempt, 'heartbeat-interval': r.redundancy.heartbeatInterval, 'heartbeat-misses': r.redundancy.heartbeatMisses,
      'sync-port': r.redundancy.syncPort, 'shared-key': r.redundancy.sharedKey,
      'shared-addresses': r.redundancy.sharedAddresses.length > 0 ? r.redundancy.sharedAddresses.map((a) => ({ device: a.device, address: a.address })) : undefined,
    }),
  });
}

function route(x: Route): Doc {
  return clean({ prefix: x.prefix, interface: x.interface, gateway: x.gateway, distance: x.distance === 1 ? undefined : x.distance, blackhole: x.blackhole });
}

function routing(x: Routing): Doc {
  const bgp = x.bgp;
  return clean({
    interface: x.interface, 'fpm-port': x.fpmPort, 'stale-hold': x.staleHold,
    vrfs: x.vrfs.length === 0 ? undefined : x.vrfs.map((v) => clean({ name: v.name, table: v.table, tenants: v.tenants, routes: v.routes.length === 0 ? undefined : v.routes.map(route) })),
    bgp: bgp === undefined ? undefined : {
      as: bgp.as, 'router-id': bgp.routerId, 'redistribute-service': bgp.redistributeService,
      neighbors: bgp.neighbors.map((n) => clean({
        address: n.address, 'remote-as': n.remoteAs, multihop: n.multihop, keepalive: n.keepalive, hold: n.hold, bfd: n.bfd,
        'max-prefix': n.maxPrefix, 'accept-prefixes': n.acceptPrefixes,
      })),
    },
  });
}

function management(m: Management): Doc {
  return clean({
    address: m.address,
    port: m.port,
    tls: m.tls === undefined ? undefined : { certificate: m.tls.certificate, key: m.tls.key },
    tokens: m.tokens.map((t) => clean({ name: t.name, role: t.role, token: t.token, 'token-file': t.tokenFile })),
    'metrics-auth': m.metricsAuth,
    'session-capacity': m.sessionCapacity,
  });
}

export function configToDocument(config: SvrConfig): Doc {
  const a = config.authority;
  return {
    authority: clean({
      name: a.name,
      secret: a.secret,
      'security-policies': a.securityPolicies.map((p) => clean({
        name: p.name, 'hmac-mode': p.hmacMode, 'hmac-cipher': p.hmacCipher, encrypt: p.encrypt,
        'encryption-cipher': p.encryptionCipher, 'adaptive-encryption': p.adaptiveEncryption, key: p.key, 'key-version': p.keyVersion, 'rekey-delay': p.rekeyDelay,
        'key-exchange': p.keyExchange, 'rekey-interval': p.rekeyInterval,
      })),
      tenants: a.tenants.map((t) => clean({ name: t.name, members: t.members, 'service-chain': t.serviceChain.length > 0 ? t.serviceChain : undefined })),
      services: a.services.map(service),
      'service-policies': a.servicePolicies.map(servicePolicy),
      routers: a.routers.map(router),
      plugins: a.plugins.length > 0 ? a.plugins.map(plugin) : undefined,
      telemetry: telemetryToDocument(a.telemetry),
      step: a.step === undefined ? undefined : { mode: a.step.mode },
    }),
  };
}
