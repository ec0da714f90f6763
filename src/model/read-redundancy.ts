/**
 * The `redundancy` block of a router: the router is a pair of nodes (docs/high-availability.md "The
 * router pair"; ssr-reference §1.13):
 *
 *   redundancy:
 *     nodes:                       # exactly two, each with its sync-link address
 *       - { name: r1a, priority: 200, sync-address: 198.18.250.1 }
 *       - { name: r1b, priority: 100, sync-address: 198.18.250.2 }
 *     preempt: false               # default: a node that comes back rejoins as standby
 *     heartbeat-interval: 100      # ms, default 100
 *     heartbeat-misses: 3          # heartbeats missed before the partner counts as lost, default 3
 *     sync-port: 4797              # UDP port of the sync link on both nodes, default 4797
 *     shared-key: <base64 of 32 bytes>   # HMAC key of every sync message (`openssl rand -base64 32`)
 *     shared-addresses:            # held by the active node on its host's devices, announced when taken
 *       - { device: r1-c, address: 198.18.1.1/24 }
 *
 * A node may also name a `probe-address` (both nodes, or neither): heartbeats go there too, over another
 * link (e.g. the shared LAN), so that a node that hears its partner only there knows the sync link is cut
 * while the partner is alive (split brain) rather than dead.
 */
import type { Interface, Redundancy, RedundancyNode, SharedAddress } from './config.js';
import { REDUNDANCY_DEFAULTS } from './defaults.js';
import { readList, type Raw, type ReadContext } from './fields.js';
import { parsePrefix } from '../packet/addr.js';
import { addressProblem, isBase64Key } from './formats.js';
import { NAME_RULES, isPlainName } from './names.js';
import type { FieldPath } from './problems.js';

export const REDUNDANCY_KEYS = ['nodes', 'preempt', 'heartbeat-interval', 'heartbeat-misses', 'sync-port', 'shared-key', 'shared-addresses'] as const;
export const SHARED_ADDRESS_KEYS = ['device', 'address'] as const;
const DEVICE_NAME = /^[A-Za-z0-9_.-]{1,15}$/;
export const REDUNDANCY_NODE_KEYS = ['name', 'priority', 'sync-address', 'probe-address'] as const;

export function readRedundancy(o: Raw, path: FieldPath, ctx: ReadContext): Redundancy | undefined {
  const value = o['redundancy'];
  if (value === undefined || value === null) return undefined;
  const { r } = ctx;
  const at = [...path, 'redundancy'];
  const m = r.object(value, at, 'a redundancy mapping (nodes, preempt, heartbeat-interval, heartbeat-misses, sync-port, shared-key, shared-addresses)', REDUNDANCY_KEYS);
  if (m === undefined) return undefined;
  const nodes = readList(ctx, m, 'nodes', at, 'a list of the two nodes ({ name, priority, sync-address })', (v, p) => readNode(v, p, ctx), true);
  if (Array.isArray(m['nodes']) && m['nodes'].length !== 2) {
    r.problems.add([...at, 'nodes'], `expected exactly two nodes (a router pair), got ${m['nodes'].length}`);
  }
  const [a, b] = nodes;
  if (a !== undefined && b !== undefined) {
    if (a.name === b.name) r.problems.add([...at, 'nodes', 1, 'name'], `node name "${b.name}" is already nodes[0]'s; give each node its own name`);
    if (a.syncAddress === b.syncAddress) r.problems.add([...at, 'nodes', 1, 'sync-address'], `sync-address ${b.syncAddress} is already nodes[0]'s; each node needs its own`);
    else if (a.syncAddress.includes(':') !== b.syncAddress.includes(':')) r.problems.add([...at, 'nodes', 1, 'sync-address'], 'expected the same address family as nodes[0].sync-address');
    if ((a.probeAddress === undefined) !== (b.probeAddress === undefined)) {
      r.problems.add([...at, 'nodes', a.probeAddress === undefined ? 0 : 1, 'probe-address'], 'required field is missing; expected a probe-address on both nodes, or on neither');
    } else if (a.probeAddress !== undefined && a.probeAddress === b.probeAddress) {
      r.problems.add([...at, 'nodes', 1, 'probe-address'], `probe-address ${b.probeAddress} is already nodes[0]'s; each node needs its own`);
    }
  }
  const preempt = r.boolean(m, 'preempt', at, REDUNDANCY_DEFAULTS.preempt);
  const heartbeatInterval = r.integer(m, 'heartbeat-interval', at, 10, 10_000, REDUNDANCY_DEFAULTS.heartbeatInterval, ' ms');
  const heartbeatMisses = r.integer(m, 'heartbeat-misses', at, 2, 100, REDUNDANCY_DEFAULTS.heartbeatMisses);
  const syncPort = r.integer(m, 'sync-port', at, 1, 65535, REDUNDANCY_DEFAULTS.syncPort);
  const sharedKey = r.string(m, 'shared-key', at, 'the pair\'s sync key: base64 of 32 bytes (`openssl rand -base64 32`)', (s) => isBase64Key(s, 32));
  const sharedAddresses = readList(ctx, m, 'shared-addresses', at, 'a list of { device, address } (the address with its prefix length)', (v, p) => readSharedAddress(v, p, ctx));
  const seen = new Map<string, number>();
  sharedAddresses.forEach((s, i) => {
    const host = s.address.slice(0, s.address.indexOf('/'));
    const other = seen.get(host);
    if (other !== undefined) r.problems.add([...at, 'shared-addresses', i, 'address'], `address ${host} is already shared-addresses[${other}]'s; list each address once`);
    seen.set(host, i);
  });
  if (a === undefined || b === undefined || nodes.length !== 2 || sharedKey === undefined) return undefined;
  return { nodes: [a, b], preempt, heartbeatInterval, heartbeatMisses, syncPort, sharedKey, sharedAddresses };
}

function readSharedAddress(value: unknown, path: FieldPath, { r }: ReadContext): SharedAddress | undefined {
  const o = r.object(value, path, 'a shared address mapping ({ device, address })', SHARED_ADDRESS_KEYS);
  if (o === undefined) return undefined;
  const device = r.string(o, 'device', path, 'the host\'s Linux interface name on the shared segment (at most 15 characters [A-Za-z0-9_.-])', (s) => DEVICE_NAME.test(s));
  const address = r.string(o, 'address', path, 'an IPv4 or IPv6 address with its prefix length, like 198.18.1.1/24', (s) => s.includes('/') && parsePrefix(s) !== undefined);
  if (device === undefined || address === undefined) return undefined;
  return { device, address };
}

function readNode(value: unknown, path: FieldPath, { r }: ReadContext): RedundancyNode | undefined {
  const o = r.object(value, path, 'a node mapping ({ name, priority, sync-address })', REDUNDANCY_NODE_KEYS);
  if (o === undefined) return undefined;
  const name = r.string(o, 'name', path, NAME_RULES.plain, isPlainName);
  const priority = r.integer(o, 'priority', path, 0, 255, REDUNDANCY_DEFAULTS.priority);
  const syncAddress = r.string(o, 'sync-address', path, 'the node\'s IPv4 or IPv6 address on the sync link', (s) => addressProblem(s) === undefined);
  const probeAddress = r.optionalString(o, 'probe-address', path, 'the node\'s IPv4 or IPv6 address on another link than the sync link', (s) => addressProblem(s) === undefined);
  if (name === undefined || syncAddress === undefined) return undefined;
  return probeAddress === undefined ? { name, priority, syncAddress } : { name, priority, syncAddress, probeAddress };
}

/**
 * Per-node interfaces (`interfaces[i].node`): only a pair's router has them, each names one of its nodes, and
 * only wan interfaces are per node (the LAN stays shared: the hosts' gateway moves with the active node).
 */
export function checkInterfaceNodes(o: Raw, interfaces: readonly Interface[], redundancy: Redundancy | undefined, path: FieldPath, { r }: ReadContext): void {
  const raw = Array.isArray(o['interfaces']) ? o['interfaces'] as unknown[] : [];
  interfaces.forEach((iface) => {
    if (iface.node === undefined) return;
    const i = raw.findIndex((x) => typeof x === 'object' && x !== null && (x as Raw)['name'] === iface.name);
    const at = [...path, 'interfaces', i < 0 ? 0 : i, 'node'];
    if (iface.kind !== 'wan') r.problems.add(at, `only wan interfaces are per node (a ${iface.kind} interface is shared: the active node holds it); remove \`node\``);
    else if (o['redundancy'] === undefined || o['redundancy'] === null) r.problems.add(at, `node ${iface.node}: this router has no \`redundancy\` block (it is one node); remove \`node\` or add the block`);
    else if (redundancy !== undefined && !redundancy.nodes.some((n) => n.name === iface.node)) {
      r.problems.add(at, `node ${iface.node} is not a node of this router (redundancy.nodes: ${redundancy.nodes.map((n) => n.name).join(', ')})`);
    }
  });
}
