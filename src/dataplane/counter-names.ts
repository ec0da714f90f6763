/**
 * Every counter a router keeps, documented once: `router.counters()`, `svr show stats`, its `--help` and
 * docs/embedding.md are generated from this table (a test checks the docs and that every counter the code
 * registers is here). Stages resolve names to indexes once (`StageInit.counter`), typed by `CounterName`.
 * Plugins' counters are `plugin.<plugin>.<counter>` (their own docs say what they count); each interface
 * has `interface.<name>.rx-packets|rx-bytes|tx-packets|tx-bytes` (a packet handed between workers once).
 */
import { PARSE_ERROR_NAMES } from '../packet/ip.js';
import { META_ERROR_NAMES } from '../packet/svr-metadata.js';

export type CounterArea = 'packets' | 'malformed' | 'first packet' | 'sessions' | 'svr' | 'plugins' | 'control';

export interface CounterDoc {
  area: CounterArea;
  meaning: string;
}

type ParseError = Exclude<(typeof PARSE_ERROR_NAMES)[number], 'none'>;
type MetaError = Exclude<(typeof META_ERROR_NAMES)[number], 'none'>;

const MALFORMED: Record<ParseError, string> = {
  'too-short': 'shorter than an IP header',
  'bad-version': 'IP version neither 4 nor 6',
  'bad-header-length': 'IPv4 header length below 20 bytes or past the packet',
  'bad-total-length': 'IP total length past the bytes received',
  'truncated-l4': 'TCP/UDP header cut off',
  'bad-l4-length': 'UDP length or TCP data offset inconsistent with the packet',
  'bad-extension-header': 'an IPv6 extension header runs past the packet',
};

const BAD_METADATA: Record<MetaError, string> = {
  'not-metadata': 'no SVR metadata where the session expected it (cookie missing)',
  'bad-version': 'metadata header version unknown',
  'header-length-below-12': 'metadata header length below its 12 fixed bytes',
  'lengths-exceed-packet': 'metadata lengths run past the packet',
  'tlv-overruns-region': 'a TLV runs past the metadata region',
  'bad-context-length': 'a forward/reverse context TLV of the wrong length',
  'bad-uuid-length': 'a session id TLV of the wrong length',
  'bad-tlv-length': 'a fixed-length TLV of the wrong length',
  encrypted: 'encrypted metadata (no security id in front of it) on a path whose policy does not encrypt',
};

const entries = <P extends string, K extends string>(prefix: P, area: CounterArea, what: string, m: Record<K, string>) =>
  Object.fromEntries(Object.entries<string>(m).map(([k, v]) => [`${prefix}${k}`, { area, meaning: `${what}: ${v}` }])) as Record<`${P}${K}`, CounterDoc>;

export const COUNTERS = {
  'rx-packets': { area: 'packets', meaning: 'packets received on any interface (before decoding)' },
  'tx-packets': { area: 'packets', meaning: 'packets transmitted on any interface' },
  'rx-batches': { area: 'packets', meaning: 'batches of received packets the data path took from its ports (rx-packets / rx-batches: packets per batch; not counting hand-offs between workers)' },
  'native-forwarded': { area: 'packets', meaning: 'packets of marked steady flows svr-out finished natively (docs/performance.md "A native steady path"; SVR_NATIVE_FORWARD=0: none)' },
  'native-received': { area: 'packets', meaning: 'packets of marked steady flows svr-in finished natively, WAN to LAN (docs/performance.md "A native steady path for svr-in"; SVR_NATIVE_IN=0: none)' },
  'drop-oversize': { area: 'packets', meaning: 'packets longer than a batch slot that found no room in the batch\'s big area (dropped before decoding)' },
  'lan-packets-fragmented': { area: 'packets', meaning: 'datagrams this router reassembled that left a LAN interface as fragments (longer than its mtu; docs/wan.md "Fragmentation")' },
  'lan-fragments-sent': { area: 'packets', meaning: 'fragments sent for lan-packets-fragmented' },
  'drop-no-port': { area: 'packets', meaning: 'packets for an interface that has no packet port' },
  'drop-malformed': { area: 'malformed', meaning: 'packets that do not parse as IPv4/IPv6 (one malformed-* counter says why)' },
  ...entries('malformed-', 'malformed', 'malformed', MALFORMED),
  'malformed-bad-ip-checksum': { area: 'malformed', meaning: 'malformed: IPv4 header checksum wrong' },
  'drop-fragment': { area: 'malformed', meaning: 'IP fragments dropped as they arrived (one that cannot become a packet; the fragment-* counters say why)' },
  'consumed-fragments': { area: 'packets', meaning: 'IPv4 and IPv6 fragments taken into reassembly (their packet goes on with the last one, or is lost: fragment-*)' },
  'fragment-no-memory': { area: 'malformed', meaning: 'fragments lost: the reassembly pool (reassembly-memory) or the batch had no room for their packet' },
  'fragment-overlap': { area: 'malformed', meaning: 'fragments lost: one overlapped bytes already held, or was a second last fragment (its packet is dropped, held fragments included)' },
  'fragment-too-big': { area: 'malformed', meaning: 'fragments lost: their packet would be longer than 65,535 bytes' },
  'fragment-malformed': { area: 'malformed', meaning: 'fragments lost: empty, a non-last fragment not a multiple of 8 bytes, past the end of its packet, or an IPv6 Fragment header behind a header it may not follow' },
  'fragment-expired': { area: 'malformed', meaning: 'fragments lost: held, their packet was not complete within 3 s, or its place was needed for a newer one' },
  'packets-reassembled': { area: 'packets', meaning: 'IPv4 and IPv6 packets reassembled from fragments (a peer fragmented them to fit a path, or a host on a LAN; docs/wan.md "Fragmentation")' },
  'drop-ttl-expired': { area: 'malformed', meaning: 'TTL / hop limit would reach 0' },
  'drop-unsupported-protocol': { area: 'malformed', meaning: 'a protocol sessions cannot carry (not TCP, UDP, ICMP or ICMPv6)' },
  'drop-bad-checksum': { area: 'malformed', meaning: 'a TCP/UDP checksum wrong where it must be right (a first packet, a TCP SYN/FIN/RST, before metadata is inserted)' },
  'drop-no-tenant': { area: 'first packet', meaning: 'first packet from a source in no tenant (session.denied no-tenant)' },
  'drop-no-service': { area: 'first packet', meaning: "first packet to a destination no service of the tenant's view covers (session.denied no-service)" },
  'drop-access-denied': { area: 'first packet', meaning: "first packet to a service whose access-policy does not allow the tenant (session.denied access-denied)" },
  'drop-tcp-no-session': { area: 'first packet', meaning: 'TCP segment that is not a SYN and matches no session (transport-state-enforcement reset or block)' },
  'tcp-resets-sent': { area: 'first packet', meaning: "TCP resets sent: for a segment that is not a SYN and matches no session (transport-state-enforcement reset), or for a session a plugin refused with refuse('reset')" },
  'icmp-unreachables-sent': { area: 'first packet', meaning: "ICMP destination unreachable (administratively prohibited) sent for a session a plugin refused with refuse('unreachable'), or refuse('reset') for a protocol other than TCP" },
  'drop-no-route': { area: 'first packet', meaning: 'first packet of a service with no usable route (no peer path up, no local next hop)' },
  'drop-no-path-meets-sla': { area: 'first packet', meaning: 'first packet refused: no path meets the service-policy SLA and best-effort is off' },
  'drop-family-mismatch': { area: 'first packet', meaning: "first packet whose address family no path of the service's peer has" },
  'drop-waypoint-ports-exhausted': { area: 'first packet', meaning: 'first packet when every waypoint port pair of the path is in use' },
  'drop-nat-collision': { area: 'first packet', meaning: "first packet whose NATed 5-tuple (chosen by a plugin) another session already has" },
  'drop-refused-by-plugin': { area: 'first packet', meaning: "first packet a plugin's session-open hook refused (plugin.<name>.refused says which)" },
  'drop-session-table-full': { area: 'sessions', meaning: 'first packets refused because the session table holds its limit (session-capacity; existing sessions go on; alarm session-table-full)' },
  'drop-steering-full': { area: 'sessions', meaning: "first packets refused because the worker's steering table is full (--workers N; existing sessions go on)" },
  'sessions-created': { area: 'sessions', meaning: 'sessions opened (ingress, egress and local)' },
  'sessions-expired': { area: 'sessions', meaning: 'sessions removed by the idle sweep (idle timeout, or the linger after FIN/RST)' },
  'sessions-replaced': { area: 'sessions', meaning: "sessions removed because a new session took their 5-tuple" },
  'sessions-no-route': { area: 'sessions', meaning: 'sessions removed because the RIB route they were delivered along is gone (withdrawn, blackholed or another interface; docs/routing.md)' },
  'sessions-migrated': { area: 'sessions', meaning: 'sessions moved to another peer path (session.migrated)' },
  'sessions-transit': { area: 'sessions', meaning: 'sessions this router continues as SVR toward another router (multi-hop transit: two linked legs, one session id)' },
  'sessions-adaptive-plain': { area: 'sessions', meaning: 'sessions of an encrypting service left in clear by adaptive encryption (already TLS/IPsec)' },
  'drop-no-session': { area: 'sessions', meaning: 'WAN packets without metadata that match no session' },
  'drop-unauthenticated': { area: 'sessions', meaning: 'TCP SYN/FIN/RST segments without a verified HMAC (only a signed segment may open, reset or close a session)' },
  'drop-not-for-waypoint': { area: 'svr', meaning: "WAN packets not addressed to this interface's waypoint (or not TCP/UDP)" },
  'drop-unknown-peer': { area: 'svr', meaning: 'WAN packets from an address that is no peer waypoint of this interface' },
  'drop-bad-hmac': { area: 'svr', meaning: 'WAN packets whose HMAC trailer does not verify (tampered, wrong key, or replayed outside the time window)' },
  'drop-unknown-key': { area: 'svr', meaning: "WAN packets whose replay block names a key id the path does not have (docs/security.md)" },
  'drop-replay': { area: 'svr', meaning: "WAN packets refused by the sender's replay window (RFC 6479; replay-seen or replay-too-old says why)" },
  'replay-seen': { area: 'svr', meaning: 'replayed packets: a counter the window has seen' },
  'replay-too-old': { area: 'svr', meaning: 'replayed packets: a counter older than the window' },
  'drop-metadata-encrypted': { area: 'svr', meaning: 'encrypted metadata on a path whose policy does not encrypt (no key to read it)' },
  'drop-metadata-decrypt': { area: 'svr', meaning: "metadata that does not decrypt with the path's key" },
  'drop-bad-metadata': { area: 'svr', meaning: 'SVR metadata that does not parse (one bad-metadata-* counter says why)' },
  ...entries('bad-metadata-', 'svr', 'bad metadata', BAD_METADATA),
  'consumed-path-messages': { area: 'svr', meaning: 'path control channel messages received (BFD, link tests, STEP on UDP 1280)' },
  'path-messages-sent': { area: 'svr', meaning: 'path control channel messages sent' },
  'link-test-echoes-answered': { area: 'svr', meaning: 'link-test echo requests the data path answered itself (the others go to path control)' },
  'steady-path-messages': { area: 'svr', meaning: 'steady BFD packets and link-test replies the data path kept for path control to read at its ticks (no event each)' },
  'drop-incomplete-metadata': { area: 'svr', meaning: "metadata that cannot open or rejoin a session (no forward context, or a reverse context of no session of ours)" },
  'drop-unknown-tenant': { area: 'svr', meaning: 'metadata naming a tenant this router does not know' },
  'drop-unknown-service': { area: 'svr', meaning: 'metadata naming a service this router does not know' },
  'drop-transit-loop': { area: 'svr', meaning: 'a transit session that came back to a router it already passed (docs/architecture.md, multi-hop)' },
  'drop-transit-no-leg': { area: 'svr', meaning: "a transit session whose onward leg cannot open (the onward path's address family differs, or its waypoint ports ran out)" },
  'drop-waypoint-collision': { area: 'svr', meaning: 'a new session on a waypoint 5-tuple one of our sessions holds in the other direction' },
  'drop-context-mismatch': { area: 'svr', meaning: "reverse metadata whose context is not the session's own, mirrored" },
  'drop-duplicate': { area: 'svr', meaning: 'the second copy of a duplicated packet (packet-duplication resiliency)' },
  'drop-bad-payload': { area: 'svr', meaning: 'an end-to-end encrypted payload with an unknown key id or that does not decrypt' },
  'drop-too-big': { area: 'svr', meaning: 'no room in the packet buffer for metadata or the HMAC trailer' },
  'drop-exceeds-path-mtu': { area: 'svr', meaning: 'an SVR packet longer than the path MTU (the WAN interface mtu, or what path MTU discovery found)' },
  'drop-payload-not-sealed': { area: 'svr', meaning: 'a payload that could not be encrypted (no key, or no room)' },
  'drop-no-path-key': { area: 'svr', meaning: 'packets for a path that has no key yet (its key exchange has not completed)' },
  'handshake-messages-received': { area: 'svr', meaning: 'key-exchange handshake messages received unsigned on a key-exchange: handshake path (they authenticate themselves; docs/security.md)' },
  'drop-handshake-rate': { area: 'svr', meaning: 'handshake messages over the per-path rate limit (a flood costs bounded CPU)' },
  'drop-key-exhausted': { area: 'svr', meaning: "packets whose path metadata key reached its AES-GCM nonce budget (waiting for a rekey)" },
  'signature-headers-sent': { area: 'svr', meaning: 'metadata-only HMAC: packets without metadata sent with a bare header so they carry a trailer (TCP SYN/FIN/RST, or the session signed nothing for a while)' },
  'metadata-sent': { area: 'svr', meaning: 'packets sent with SVR metadata (first packets, re-signals, probes)' },
  'false-positive-headers-sent': { area: 'svr', meaning: "packets whose payload started like metadata and got a false-positive header so the peer does not misread it" },
  'sessions-resignalled-nat': { area: 'svr', meaning: 'sessions that sent their metadata again because the NAT in front of this router rebound (docs/wan.md)' },
  'packets-fragmented': { area: 'svr', meaning: 'SVR packets sent as IPv4 fragments because they did not fit the path MTU (wan interface `fragmentation`; docs/wan.md)' },
  'fragments-sent': { area: 'svr', meaning: 'IPv4 fragments sent for packets-fragmented (the peer reassembles them)' },
  'icmp-too-big-sent': { area: 'svr', meaning: 'ICMP fragmentation-needed / packet-too-big sent to a host whose packet did not fit the peer path MTU (docs/wan.md)' },
  'firewall-probes-sent': { area: 'svr', meaning: 'firewall-detector TCP probes sent to peers (waypoint port 1283; docs/wan.md "UDP transform")' },
  'tcp-sessions-transformed': { area: 'svr', meaning: 'TCP sessions opened on a path with UDP transform on: carried as UDP between the routers (docs/wan.md)' },
  'tcp-sessions-moved-to-udp': { area: 'svr', meaning: "open TCP sessions moved to UDP when their path's UDP transform turned on (re-signalled on new waypoint ports)" },
  'drop-bad-transformed': { area: 'malformed', meaning: 'UDP-transformed packets whose inner TCP header is cut off or inconsistent' },
  'enable-metadata-sent': { area: 'svr', meaning: 'packet-based session recovery: "enable-metadata" answers to peers\' packets without metadata of flows this router holds no session of' },
  'enable-metadata-rate-limited': { area: 'svr', meaning: 'packets of unknown flows not answered with "enable-metadata" (over 100 a second per data path)' },
  'sessions-resignalled-enable': { area: 'svr', meaning: 'sessions that send their metadata again because the peer answered "enable-metadata" (it had lost them)' },
  'nat-sessions-relayed': { area: 'svr', meaning: 'sessions the peer (hub) opened toward this router behind NAT: their first packets rode the control binding (docs/wan.md)' },
  'nat-reverse-probes-sent': { area: 'svr', meaning: 'reverse probes of sessions the peer opened toward this router behind NAT: they open or renew the session\'s binding in our NAT' },
  'nat-sessions-opened': { area: 'svr', meaning: 'sessions opened toward a peer behind NAT whose own binding the peer opened (they left the control binding)' },
  'nat-keepalives-sent': { area: 'svr', meaning: 'NAT keep-alives: probes of idle sessions on outbound-only paths, so the NAT keeps their bindings (docs/wan.md)' },
  'health-checks-sent': { area: 'svr', meaning: 'health-check probes sent for a handshake waiting for reverse metadata' },
  'health-checks-answered': { area: 'svr', meaning: 'health-check probes answered (egress)' },
  'consumed-control-messages': { area: 'svr', meaning: 'SVR control messages (metadata without payload) consumed' },
  'fec-parity-sent': { area: 'svr', meaning: 'FEC parity packets sent (`parity` per group of `group-size` packets of a session whose service has fec: docs/wan.md "FEC")' },
  'fec-parity-not-sent': { area: 'svr', meaning: 'FEC parity packets not sent: longer than the path MTU (data packets within 30 B of it), no room, or no key on the path yet' },
  'fec-parity-received': { area: 'svr', meaning: 'FEC parity packets received and verified' },
  'fec-packets-recovered': { area: 'svr', meaning: 'packets lost on the path and rebuilt from an FEC parity packet' },
  'fec-groups-unrecoverable': { area: 'svr', meaning: 'FEC groups (or their packets) that could not be rebuilt: more packets lost than the group has parity packets' },
  'fec-no-state': { area: 'svr', meaning: 'FEC packets not grouped: every FEC group of the data path is in use (256 sessions per direction)' },
  'drop-fec-tag-missing': { area: 'svr', meaning: 'data packets of an FEC session too short to carry their FEC tag' },
  'drop-fec-duplicate': { area: 'svr', meaning: 'data packets of an FEC session that arrived after their group had rebuilt them' },
  'drop-fec-parity-unauthenticated': { area: 'svr', meaning: "FEC parity packets whose HMAC or replay counter did not verify on the session's path" },
  'drop-fec-parity-malformed': { area: 'svr', meaning: 'FEC parity packets whose parity row is longer than the packet' },
  'packets-duplicated': { area: 'svr', meaning: 'packets sent a second time on another path (packet-duplication resiliency)' },
  'tcp-mss-clamped': { area: 'svr', meaning: "TCP SYNs whose MSS was lowered to fit the path MTU (enforced-mss)" },
  'tcp-mss-default-too-big': { area: 'svr', meaning: "TCP SYNs without an MSS option whose default MSS does not fit the path MTU" },
  'consumed-handed-off': { area: 'packets', meaning: 'packets handed to the data-path worker that owns their session (--workers N)' },
  'drop-function-no-session': { area: 'plugins', meaning: 'packets back from an external network function that match no diverted session' },
  'function-returned': { area: 'plugins', meaning: 'packets back from an external network function, resuming their chain' },
  'drop-by-plugin': { area: 'plugins', meaning: 'packets a plugin stage dropped (the plugin counts its reason)' },
  'drop-function-failed': { area: 'plugins', meaning: 'packets of sessions whose chain holds a security function (firewall, dos, nat) that failed: dropped, fail closed (alarm security-function-failed)' },
  'drop-chain-incomplete': { area: 'plugins', meaning: 'packets of sessions whose chain names a stage no loaded plugin provides (fail closed)' },
  'plugin-stage-errors': { area: 'plugins', meaning: 'plugin stages disabled after throwing or breaking the contract (plugin.disabled)' },
  'plugin-hook-errors': { area: 'plugins', meaning: 'plugin session hooks disabled after throwing (plugin.disabled)' },
  'plugin-records-lost': { area: 'plugins', meaning: "records plugins' data-path parts sent while their channel was full this batch (plugin.<name>.records-lost says whose)" },
  'drop-stage-loop': { area: 'packets', meaning: 'packets that went through more stages than a graph allows (a routing loop between stages)' },
  'drop-bad-next': { area: 'packets', meaning: 'packets a stage sent to a next stage that does not exist (a bug)' },
  'handshakes-failed': { area: 'control', meaning: 'metadata handshakes that got no answer to their probes (the session was torn down: handshake-failed)' },
  'service-moves': { area: 'control', meaning: "times a service's migration episode moved its sessions to another path" },
  'paths-suppressed': { area: 'control', meaning: 'times a flapping path was suppressed (damped) for a service' },
  'nat-peer-address-changes': { area: 'control', meaning: 'times a peer behind NAT was seen at a new address or port (its NAT rebound) and followed there (docs/wan.md)' },
  'nat-rebinds': { area: 'control', meaning: 'times the peer saw this router (behind NAT) come from a new address or port (docs/wan.md)' },
  'nat-rebinds-damped': { area: 'control', meaning: 'NAT rebindings whose session re-signal was held back by damping (a NAT that changes every few seconds)' },
  'firewall-probes-answered': { area: 'control', meaning: "firewall-detector probes from peers answered on the control channel (docs/wan.md)" },
  'firewall-probe-acks': { area: 'control', meaning: 'answers to this router\'s firewall-detector probes received' },
  'firewall-verdicts-sent': { area: 'control', meaning: 'firewall-detector verdicts (0xd1) told to peers: at each verdict and every 10 s after' },
  'firewall-verdicts-received': { area: 'control', meaning: 'firewall-detector verdicts (0xd1) from peers (what their probes found in their direction)' },
  'firewall-probe-malformed': { area: 'control', meaning: 'firewall-detector probes, answers or verdicts (0xcf/0xd0/0xd1) dropped as malformed' },
  'udp-transform-activations': { area: 'control', meaning: "times a path's firewall detector found TCP blocked and turned UDP transform on" },
  'nat-address-malformed': { area: 'control', meaning: 'NAT address messages (0xcc) dropped as malformed' },
} as const satisfies Record<string, CounterDoc>;

/** The name of a counter of the router itself. */
export type CounterName = keyof typeof COUNTERS;
/** A plugin's counter: `plugin.<plugin>.<counter>`. */
export type PluginCounterName = `plugin.${string}`;
/** STEP's counters of a router (published, tx-datagrams, rx-new, subscriptions, ...): `step.<name>`. */
export type StepCounterName = `step.${string}`;
/** The packets and bytes an interface received and sent. */
export const INTERFACE_COUNTER_KINDS = ['rx-packets', 'rx-bytes', 'tx-packets', 'tx-bytes'] as const;
/** An interface's counter: `interface.<name>.rx-packets` and so on. */
export type InterfaceCounterName = `interface.${string}.${typeof INTERFACE_COUNTER_KINDS[number]}`;
/** `router.counters()`: every router counter (zeros included), the interfaces' and the plugins' counters. */
export type RouterCounters = Record<CounterName, number> & { [name: PluginCounterName]: number } & { [name: InterfaceCounterName]: number } & { [name: StepCounterName]: number };

export const COUNTER_NAMES = Object.keys(COUNTERS) as CounterName[];

/** Index 0 of the parse/metadata error lists is "no error": it has no counter. */
export const malformedCounter = (k: number): CounterName | undefined => (k === 0 ? undefined : `malformed-${PARSE_ERROR_NAMES[k]!}` as CounterName);
export const badMetadataCounter = (k: number): CounterName | undefined => (k === 0 ? undefined : `bad-metadata-${META_ERROR_NAMES[k]!}` as CounterName);
