/**
 * `svr show sessions|peers|services|tenants|plugins|stats|config|alarms|events|rib|fib|bgp|ha`: state of a running node, as
 * tables or JSON, over its control socket (this host) or its management API (`--api URL`, any host).
 */
import type { Command } from 'commander';
import { stringify } from 'yaml';
import type { ServiceView, SessionSummary, TenantView, TupleSummary } from '../dataplane/views.js';
import { SvrError, isSvrError } from '../errors.js';
import type { BusyPollStats } from '../io/tun/native.js';
import { request } from '../node/control-client.js';
import { SHOW_WHAT, type SessionsShown, type ShowWhat } from '../node/control-protocol.js';
import type { PeerSummary, SecurityView } from '../control/router.js';
import type { PluginView } from '../plugins/host.js';
import type { Alarm, NodeEvent } from '../telemetry/alarms/registry.js';
import { apiGet, apiGetAll, apiTarget } from './api-client.js';
import type { CollectorView } from '../telemetry/session-records.js';
import { selectNodeSocket, type NodeSelector } from './node-select.js';
import { countersHelp } from './counters-help.js';
import { humanBytes, humanDuration, humanRate, renderTable } from '../util/text-table.js';
import type { ShapedInterfaceStats } from '../node/egress-shaper.js';
import type { FibView, RibView } from '../routing/views.js';
import type { BgpView } from '../routing/bgp-view.js';
import type { RoutingStatus } from '../routing/node-routing.js';
import type { NodeHa } from '../node/ha.js';

type NodeHaStatus = ReturnType<NodeHa['status']>;

interface ShowOptions extends NodeSelector {
  json?: boolean;
  service?: string;
  tenant?: string;
  api?: string;
  token?: string;
  tokenFile?: string;
  ca?: string;
  since?: string;
  vrf?: string;
  limit?: string;
}

/** `svr show sessions` as a table: the oldest this many unless --limit says otherwise (0: all). */
export const SESSIONS_TABLE_LIMIT = 1000;

/** --limit of show sessions: undefined for all (--limit 0, or --json without --limit). */
function sessionsLimit(o: ShowOptions): number | undefined {
  if (o.limit === undefined) return o.json ? undefined : SESSIONS_TABLE_LIMIT;
  const n = Number(o.limit);
  if (!Number.isInteger(n) || n < 0) throw new SvrError('SVR_ERR_CLI_OPTION', `--limit ${JSON.stringify(o.limit)}: expected a whole number of sessions (0: all)`);
  return n === 0 ? undefined : n;
}

const tuple = (t: TupleSummary) => `${t.src}:${t.srcPort} > ${t.dst}:${t.dstPort}`;

function sessionsTable(rows: (SessionSummary & { worker?: number })[], active = rows.length): string {
  if (rows.length === 0) return active === 0 ? 'no sessions' : `${active} sessions, none listed`;
  const workers = rows.some((s) => s.worker !== undefined); // a node with data-path worker threads
  return renderTable(
    ['ID', 'ROLE', 'TENANT', 'SERVICE', 'PROTO', 'ORIGINAL', 'WAYPOINT', 'PEER', 'AGE', 'PKTS F/R', 'BYTES F/R', 'STATE', ...(workers ? ['WORKER'] : [])],
    rows.map((s) => [
      s.id.slice(0, 8), s.role, s.tenant, s.service, s.original.protocol, tuple(s.original),
      s.waypoint ? tuple(s.waypoint) : '-', s.peer ?? '-', humanDuration(s.ageMs),
      `${s.packets.forward}/${s.packets.reverse}`, `${humanBytes(s.bytes.forward)}/${humanBytes(s.bytes.reverse)}`,
      s.handshake === 'signalling' ? `${s.state} (signalling)` : s.state,
      ...(workers ? [s.worker ?? '-'] : []),
    ]),
  ) + (active > rows.length ? `\nthe oldest ${rows.length} of ${active} sessions (--limit N, 0: all)` : `\n${rows.length} session${rows.length === 1 ? '' : 's'}`);
}

function peersTable(rows: PeerSummary[]): string {
  if (rows.length === 0) return 'no peers';
  const ms = (v: number | undefined) => (v === undefined ? '-' : `${v.toFixed(1)}`);
  return renderTable(
    ['PEER', 'PATH', 'NODE', 'USABLE', 'BFD', 'VECTOR', 'LATENCY MS', 'JITTER MS', 'LOSS %', 'MOS', 'UPTIME', 'FLAPS', 'HOLD-DOWN', 'SESSIONS', 'KEY AGE', 'REKEYS', 'MTU', 'TRANSPORT', 'WAYPOINTS', 'NAT'],
    rows.flatMap((p) => p.paths.map((x) => [
      p.name, x.name, x.node ?? '-', x.up ? 'yes' : x.standby === true ? 'standby' : 'no', x.bfd, x.vector || '-', ms(x.latencyMs), ms(x.jitterMs), ms(x.lossPct), x.mos === undefined ? '-' : x.mos.toFixed(2),
      humanDuration(x.uptimeMs), x.flaps, x.holdDownMs > 0 ? humanDuration(x.holdDownMs) : '-', x.sessions,
      x.keyAgeMs === undefined ? '-' : humanDuration(x.keyAgeMs), x.rekeys ?? '-', mtuText(x.mtu, x.mtuState), transportText(x), `${x.localWaypoint} > ${x.remoteWaypoint}`, natText(x.nat),
    ])),
  );
}

function securityTable(v: SecurityView): string {
  if (v.paths.length === 0) return 'no peer paths';
  const age = (ms: number | undefined) => (ms === undefined ? '-' : humanDuration(ms));
  const keys = renderTable(
    ['PATH', 'PEER', 'KEYS', 'STATE', 'TX KEY', 'KEY AGE', 'PACKETS', 'RX KEYS', 'LAST HANDSHAKE', 'NEXT REKEY', 'REKEYS'],
    v.paths.map((p) => [
      p.path, p.peer, p.keyExchange, p.state, p.tx ? `${p.tx.keyId} (sid ${p.tx.securityId})` : '-', age(p.tx?.ageMs), p.tx?.packets ?? '-',
      p.rx.map((k) => (k.retiresInMs === undefined ? `${k.keyId}` : `${k.keyId} (retires in ${humanDuration(k.retiresInMs)})`)).join(', ') || '-',
      p.lastHandshakeAgoMs === undefined ? '-' : `${humanDuration(p.lastHandshakeAgoMs)} ago`, p.nextRekeyInMs === undefined ? '-' : `in ${humanDuration(p.nextRekeyInMs)}`, p.rekeys ?? '-',
    ]),
  );
  const refused = v.paths.flatMap((p) => Object.entries(p.refused ?? {}).filter(([, n]) => n > 0).map(([why, n]) => [p.path, why, n]));
  return refused.length === 0 ? `${keys}\n\nno handshake message refused` : `${keys}\n\n${renderTable(['PATH', 'REFUSED HANDSHAKE MESSAGES', 'COUNT'], refused)}`;
}

/** The path MTU, marked when not discovered by probes. */
function mtuText(mtu: number, state: string): string {
  return state === 'discovered' ? String(mtu) : state === 'unresolvable' ? `${mtu} (unresolvable)` : `${mtu} (${state})`;
}

/** How the path's new TCP sessions travel: `tcp`, or `udp-transform` and why (docs/wan.md "UDP transform"). */
function transportText(x: PeerSummary['paths'][number]): string {
  const u = x.udpTransform;
  if (u === undefined) return x.transport;
  if (u.mode === 'always-transform') return 'udp-transform (always)';
  if (x.transport === 'udp-transform') return `udp-transform (${[...u.reasons, ...(u.peerReasons ?? []).map((r) => `peer: ${r}`)].join('; ')})`;
  return u.episodes === 0 ? `tcp (${u.state})` : 'tcp (detected clean)';
}

/** NAT traversal of a path: the learned peer address (we answer there) or where the peer sees us, and the changes. */
function natText(n: PeerSummary['paths'][number]['nat']): string {
  if (n === undefined) return '-';
  const where = n.role === 'peer-behind-nat' ? `peer at ${n.learned ?? '(not heard yet)'}` : `seen as ${n.seenAs ?? '(not told yet)'}`;
  return `${where}, ${n.addressChanges} change${n.addressChanges === 1 ? '' : 's'}${n.damped ? `, ${n.damped} damped` : ''}`;
}

function tenantsTable(rows: TenantView[]): string {
  return renderTable(['TENANT', 'INTERFACES', 'VRF', 'SESSIONS'], rows.map((t) => [t.name, t.interfaces.join(',') || '-', t.vrf, t.sessions]));
}

function pluginsTable(rows: PluginView[]): string {
  if (rows.length === 0) return 'no plugins loaded';
  return rows.map((p) => {
    const head = `${p.name} ${p.version} (${p.specifier}) ${p.state}${p.error ? `: ${p.error}` : ''}`;
    const stages = p.stages.map((s) => `  stage ${s.name}${s.disabled ? ' (disabled after an error)' : ''}`);
    const counters = Object.entries(p.counters).map(([k, v]) => `  ${k} ${v}`);
    return [head, ...stages, ...counters].join('\n');
  }).join('\n');
}

function servicesTableWithPaths(rows: (ServiceView & { paths?: string[]; resiliency?: string; refused?: boolean })[]): string {
  return renderTable(
    ['SERVICE', 'REACHABLE', 'SESSIONS', 'PATHS (BEST FIRST)', 'RESILIENCY', 'ROUTES'],
    rows.map((s) => [s.name, s.reachable ? 'yes' : 'no', s.sessions, s.refused ? 'refused (no path meets the SLA)' : (s.paths ?? []).join(', ') || '-', s.resiliency ?? 'none',
      s.routes.map((r) => `${r.name}: ${r.kind} ${r.target}`).join('; ') || '-']),
  );
}

/** `interface.<name>.rx-packets` and the like: the data path's per-interface counters. */
const INTERFACE_COUNTER = /^interface\.(.+)\.((?:rx|tx)-(?:packets|bytes))$/;

function statsTable(stats: Record<string, unknown>): string {
  const counters = Object.entries(stats).filter((e): e is [string, number] => typeof e[1] === 'number' && !INTERFACE_COUNTER.test(e[0]));
  const nonZero = counters.filter(([, v]) => v !== 0);
  const perIf = new Map<string, Record<string, number>>();
  for (const [k, v] of Object.entries(stats)) {
    const m = INTERFACE_COUNTER.exec(k);
    if (m !== null && typeof v === 'number') perIf.set(m[1]!, { ...perIf.get(m[1]!), [m[2]!]: v });
  }
  const devices = new Map(((stats['interfaces'] as Record<string, unknown>[] | undefined) ?? []).map((i) => [String(i['interface']), i]));
  const parts = [renderTable(['COUNTER', 'VALUE'], nonZero.map(([k, v]) => [k, v]))];
  if (perIf.size > 0 || devices.size > 0) {
    // PACKETS/BYTES: the data path's counts; TX DROPS, READS: the TUN device's (READS: where its queue is
    // read now: poll = the main loop at low load, thread = the reader thread); '-' with worker threads
    const names = [...new Set([...perIf.keys(), ...devices.keys()])];
    parts.push(renderTable(['INTERFACE', 'DEVICE', 'RX PKTS', 'RX BYTES', 'TX PKTS', 'TX BYTES', 'TX DROPS', 'READS'], names.map((n) => {
      const c = perIf.get(n) ?? {};
      const d = devices.get(n);
      return [n, d === undefined ? '-' : String(d['device']), c['rx-packets'] ?? 0, humanBytes(c['rx-bytes'] ?? 0), c['tx-packets'] ?? 0, humanBytes(c['tx-bytes'] ?? 0),
        d === undefined ? '-' : Number(d['txDrops']), d === undefined ? '-' : String(d['readerMode'] ?? '-')];
    })));
  }
  const busy = stats['busyPoll'] as BusyPollStats | undefined;
  if (busy !== undefined) {
    parts.push(busy.windowUs === 0 ? 'busy poll: off' : `busy poll: ${busy.windowUs} µs window; ${busy.packets} packets read while polling (wake-ups saved), ` +
      `${(busy.idleUs / 1000).toFixed(1)} ms polled in vain, ${busy.runs} runs, ${busy.capped} cut at 1 ms`);
  }
  const shaping = (stats['shaping'] as ShapedInterfaceStats[] | undefined) ?? [];
  if (shaping.length > 0) {
    // the kernel egress shaper (docs/shaping.md): per interface and queue, read every second
    parts.push(renderTable(['SHAPED', 'QUEUE', 'RATE', 'CEIL', 'SENT', 'SENT PKTS', 'DROPPED', 'QUEUED', 'QUEUED PKTS', 'LIMIT'], shaping.flatMap((i) => i.queues.map((q) => [
      `${i.interface} (${i.ifb})`, q.queue, humanRate(q.rate), humanRate(q.ceil), humanBytes(q['sent-bytes']), q['sent-packets'], q.dropped, humanBytes(q['queue-bytes']), q['queue-packets'], humanBytes(q['queue-limit-bytes']),
    ]))));
  }
  const perWorker = stats['sessions-per-worker'] as number[] | undefined;
  if (perWorker !== undefined) parts.push(renderTable(['WORKER', 'SESSIONS'], perWorker.map((n, w) => [w, n])));
  const collectors = (stats['collectors'] as CollectorView[] | undefined) ?? [];
  if (collectors.length > 0) {
    parts.push(renderTable(['IPFIX COLLECTOR', 'ADDRESS', 'STATUS', 'EXPORTED', 'DROPPED', 'FILTERED', 'QUEUE', 'MESSAGES', 'TEMPLATE SENDS', 'ERRORS'], collectors.map((c) => [
      c.name, `${c.address}:${c.port}/${c.transport}`, c.status, c.exported, c.dropped, c.filtered, c.queueDepth, c.messages, c.templateSends, c.errors,
    ])));
  }
  parts.push(`(${counters.length - nonZero.length} counters at zero not shown; --json shows all)`);
  return parts.join('\n\n');
}

function ribTable(v: RibView): string {
  if (v.routes.length === 0) return 'no routes';
  const vrfs = v.vrfs.length > 1; // the VRF column only where there are VRFs
  const table = renderTable(['', ...(vrfs ? ['VRF'] : []), 'PREFIX', 'PROTOCOL', 'DISTANCE', 'METRIC', 'INTERFACE', 'GATEWAY'],
    v.routes.map((r) => [r.selected ? '>' : '', ...(vrfs ? [r.vrf] : []), r.prefix, r.protocol, r.distance, r.metric, r.interface, r.gateway ?? '-']));
  const counts = Object.entries(v.counts).map(([k, n]) => `${n} ${k}`).join(', ');
  return `${table}\n> selected (the FIB follows it): ${counts || 'none'}`;
}

function fibTable(v: FibView): string {
  const vrfs = v.vrfs.length > 1;
  const table = v.entries.length === 0 ? 'no FIB entries' : renderTable(['PREFIX', 'PROTOCOL', 'PORTS', 'TENANTS', 'SERVICE', ...(vrfs ? ['VRF'] : []), 'NEXT HOPS'],
    v.entries.map((e) => [e.prefix, e.protocol, e.ports, e.tenants.join(',') || '-', e.service, ...(vrfs ? [e.vrf ?? '-'] : []), e.nextHops.join('; ')]));
  return `${table}\n${v.entries.length} entr${v.entries.length === 1 ? 'y' : 'ies'}; ${v.routes} RIB route${v.routes === 1 ? '' : 's'} selected`;
}

/** `svr show fib --service S --tenant T`: only the entries of that service / that a tenant's access names. */
function filterFib(v: FibView, o: { service?: string; tenant?: string }): FibView {
  return { ...v, entries: v.entries.filter((e) => (o.service === undefined || e.service === o.service) && (o.tenant === undefined || e.tenants.includes(o.tenant))) };
}

type BgpShow = BgpView & { routing: RoutingStatus };

function bgpTables(v: BgpShow, part: string | undefined): string {
  const parts: string[] = [];
  if (part !== 'routes') {
    parts.push(v.neighbors.length === 0 ? 'no BGP neighbors' : renderTable(['NEIGHBOR', 'REMOTE AS', 'STATE', 'FOR', 'PREFIXES RCVD', 'SENT', 'BFD', 'LAST RESET'],
      v.neighbors.map((n) => [n.address, n.remoteAs, n.state, n.upOrDownFor ?? '-', n.prefixesReceived ?? '-', n.prefixesSent ?? '-', n.bfd ?? '-', n.lastReset ?? '-'])));
  }
  if (part !== 'neighbors') {
    const shown = v.routes.slice(0, 50);
    parts.push(v.routes.length === 0 ? 'no BGP routes' : renderTable(['', 'PREFIX', 'NEXT HOP', 'AS PATH', 'ORIGIN'],
      shown.map((r) => [r.best ? '>' : '', r.prefix, r.nextHop, r.asPath || '-', r.local ? 'this router (redistribute service)' : 'learned'])) +
      (v.routes.length > shown.length ? `\n... ${v.routes.length - shown.length} more (--json lists all)` : ''));
  }
  if (part === undefined) {
    const s = v.routing;
    parts.push(`FRR: ${s.daemons.map((d) => `${d.daemon} ${d.running ? `pid ${d.pid}` : 'down'}${d.restarts > 0 ? ` (${d.restarts} restarts)` : ''}`).join(', ')}; ` +
      `FPM ${s.fpm.connected ? 'connected' : 'not connected'} on port ${s.fpm.port}: ${s.fpm.routesAdded} added, ${s.fpm.routesDeleted} deleted, ${s.fpm.malformed} malformed; ` +
      `${s.learned.routes} learned routes${s.learned.overflow > 0 ? ` (${s.learned.overflow} over the bound, not learned)` : ''}; announced: ${s.announced.join(', ') || 'none'}`);
  }
  return parts.join('\n\n');
}

function alarmsTable(rows: Alarm[]): string {
  if (rows.length === 0) return 'no active alarms';
  return renderTable(['SEVERITY', 'ALARM', 'SOURCE', 'RAISED', 'MESSAGE'], rows.map((a) => [
    a.severity, a.id.slice(0, a.id.indexOf(':') < 0 ? a.id.length : a.id.indexOf(':')), a.source, `${humanDuration(Date.now() - a.raisedAt)} ago`, a.message,
  ])) + `\n${rows.length} active alarm${rows.length === 1 ? '' : 's'}`;
}

function eventsTable(rows: NodeEvent[]): string {
  if (rows.length === 0) return 'no events';
  return renderTable(['SEQ', 'TIME', 'KIND', 'SEVERITY', 'SOURCE', 'MESSAGE'], rows.map((e) => [
    e.seq, new Date(e.at).toISOString(), e.kind, e.severity, e.source, e.message,
  ]));
}

/** `svr show ha`: this node's role in its pair, the partner, the sync link's lag and counters. */
function haTable(s: NodeHaStatus): string {
  const ms = (v: number | undefined) => (v === undefined ? '-' : `${v.toFixed(1)} ms`);
  const upTo = (v: number | undefined) => (v === undefined ? '-' : v === Number.POSITIVE_INFINITY ? 'over 10 s' : `<= ${v} ms`);
  const c = s.counters;
  const drops = Object.entries(c.dropped).filter(([, n]) => n > 0).map(([why, n]) => `${why} ${n}`).join(', ') || 'none';
  return renderTable(['FIELD', 'VALUE'], [
    ['node', s.node], ['role', `${s.role} (${s.reason})`], ['forwarding', s.forwarding ? 'yes' : 'no'],
    ['partner', `${s.partner}: ${s.partnerRole ?? 'not heard'}${s.partnerHeardMsAgo === undefined ? '' : `, heard ${s.partnerHeardMsAgo} ms ago`}`],
    ['split brain', s.splitBrain ? 'YES' : 'no'],
    ['shared links', `${s.linksUp} up: ${s.links.map((l) => `${l.device} ${l.up ? 'up' : `DOWN (${l.state})`}`).join(', ') || 'none watched (no shared addresses)'}`],
    ['partner released', `${s.partnerReleased === undefined ? 'not heard' : s.partnerReleased ? 'yes' : 'no (it holds the shared addresses)'}; taking them waited ${s.releaseWaits.waited} times for the partner's release, ${s.releaseWaits.timedOut} ran out${s.releaseWaits.lastMs === undefined ? '' : ` (the last ${s.releaseWaits.lastMs} ms)`}`],
    ['sync lag', `${ms(s.lag.lastMs)} (max ${ms(s.lag.maxMs)}), ${s.lag.pending} records pending, ${s.lag.unacked} batches unacknowledged`],
    ['change lag', `${ms(s.lag.changeMs)} (p50 ${upTo(s.lag.changeP50Ms)}, p99 ${upTo(s.lag.changeP99Ms)}, max ${ms(s.lag.changeMaxMs)}) from a session change to its acknowledgement; the oldest change waited ${ms(s.sessions.lastWaitMs)} (max ${ms(s.sessions.maxWaitMs)}) for its collection`],
    ['sessions sent', `${s.sessions.upserts} rows, ${s.sessions.deletes} removals, ${s.sessions.purges} workers' rows purged in ${s.sessions.collections} collections (${s.sessions.fullCollections} full); ${s.sessions.dirtyLeft} rows waiting${s.sessions.dirtyLeft > 0 ? ` (oldest ${ms(s.sessions.dirtyLeftOldestMs)})` : ''}`],
    ['sent', `${c.heartbeatsSent} heartbeats, ${c.batchesSent} batches (${c.recordsSent} records), ${c.batchesResent} resent`],
    ['received', `${c.heartbeatsReceived} heartbeats, ${c.batchesReceived} batches (${c.recordsReceived} records), ${s.replicaRecords} in the replica`],
    ['dropped', drops], ['role changes', `${s.roleChanges}${s.lastRoleAppliedMs === undefined ? '' : `, the last (${s.appliedRole ?? '-'}) applied in ${s.lastRoleAppliedMs} ms`}`],
  ]);
}

function render(what: ShowWhat, result: unknown, part?: string): string {
  switch (what) {
    case 'ha': return haTable(result as NodeHaStatus);
    case 'sessions': {
      const shown = Array.isArray(result) ? { sessions: result as SessionSummary[], active: result.length } : result as SessionsShown<SessionSummary>;
      return sessionsTable(shown.sessions, shown.active);
    }
    case 'peers': return peersTable(result as PeerSummary[]);
    case 'security': return securityTable(result as SecurityView);
    case 'services': return servicesTableWithPaths(result as ServiceView[]);
    case 'tenants': return tenantsTable(result as TenantView[]);
    case 'plugins': return pluginsTable(result as PluginView[]);
    case 'stats': return statsTable(result as Record<string, unknown>);
    case 'config': return stringify(result).trimEnd();
    case 'alarms': return alarmsTable(result as Alarm[]);
    case 'events': return eventsTable(result as NodeEvent[]);
    case 'rib': return ribTable(result as RibView);
    case 'fib': return fibTable(result as FibView);
    case 'bgp': return bgpTables(result as BgpShow, part);
  }
}

const RELATIVE = /^(\d+(?:\.\d+)?)(s|m|h|d)$/;
const UNIT_MS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** `--since`: an ISO 8601 time, or a time ago (`30s`, `10m`, `2h`, `1d`); epoch ms. */
export function parseSince(text: string, now = Date.now()): number {
  const rel = RELATIVE.exec(text.trim());
  if (rel !== null) return now - Number(rel[1]) * UNIT_MS[rel[2]!]!;
  const t = Date.parse(text);
  if (!Number.isFinite(t) || !/^\d{4}-\d\d-\d\d/.test(text.trim())) {
    throw new SvrError('SVR_ERR_CLI_OPTION', `--since ${JSON.stringify(text)}: expected a time such as 2026-01-02T03:04:05Z or a time ago such as 30s, 10m, 2h, 1d`);
  }
  return t;
}

/** --api answers with every session: the same page as the control socket's. */
function limitSessions(all: unknown, limit: number | undefined): unknown {
  return limit === undefined ? all : { sessions: (all as unknown[]).slice(0, limit), active: (all as unknown[]).length };
}

/** The same answer as the control socket's, from the node's management API. */
async function showOverApi(what: ShowWhat, o: ShowOptions, since: number | undefined): Promise<unknown> {
  const t = apiTarget({ api: o.api!, ...(o.token !== undefined ? { token: o.token } : {}), ...(o.tokenFile !== undefined ? { tokenFile: o.tokenFile } : {}), ...(o.ca !== undefined ? { ca: o.ca } : {}) });
  if (what === 'sessions') return apiGetAll(t, '/api/v1/sessions', 'cursor');
  if (what === 'events') return apiGetAll(t, '/api/v1/events', 'after', { since: since === undefined ? undefined : new Date(since).toISOString() });
  if (what === 'ha') throw new SvrError('SVR_ERR_CLI_OPTION', 'svr show ha: not in the management API yet; ask the node over its control socket (--node, --socket)');
  return apiGet(t, `/api/v1/${what}${o.vrf !== undefined && (what === 'rib' || what === 'fib') ? `?vrf=${encodeURIComponent(o.vrf)}` : ''}`);
}

export function registerShow(program: Command): void {
  const show = program
    .command('show')
    .summary('show state of a running node: sessions, peers, security, services, tenants, plugins, stats, config, alarms, events, rib, fib, bgp, ha')
    .description('Show the state of a running node (tables by default, --json for scripts).')
    .addHelpText('after', `
Which node: --socket PATH, or --node NAME (nodes register in $SVR_RUN_DIR or /run/svrouter; lab
nodes are r1 and r2), or, with neither, the only node running on this host (r1 when a lab is up).
A node on another host: --api URL (its management API, docs/visibility.md) with --token T,
--token-file F or $SVR_API_TOKEN; --ca PEM when its HTTPS certificate is not trusted by this host.

Examples:
  svr show sessions              # the session table: original and waypoint 5-tuples, peer, age, packets, bytes
  svr show sessions --node r2 --json
  svr show stats                 # counters: packets and bytes per interface, drops by reason, sessions
  svr show security              # path keys: key ids, age, packets under the key, next rekey, refused handshakes
  svr show config                # the running config (secrets, keys and tokens redacted)
  svr show alarms                # active alarms: peer path down, peer unreachable, session table, plugins
  svr show events --since 10m    # alarms raised and cleared, configs applied or refused
  svr show peers --api https://198.18.61.2:8443 --token-file ops.token --ca api.crt
  svr show rib                   # static and learned (BGP) routes with distances, the selected ones marked
  svr show fib --service web     # the service FIB: prefix, protocol, ports, tenants, service, next hops
  svr show rib --vrf blue        # one VRF's routes (routing.vrfs; docs/routing.md)
  svr show bgp neighbors --json  # BGP neighbours from FRR's bgpd (state, prefixes, BFD)
  svr show ha --node r1a         # a router pair's node: role, partner, sync lag, dropped sync messages`);
  for (const what of SHOW_WHAT) {
    const cmd = show
      .command(what)
      .description(`show the node's ${what}`)
      .addHelpText('after', what === 'stats' ? countersHelp() : '')
      .option('--json', 'print JSON instead of a table')
      .option('--node <name>', 'the node to ask')
      .option('--socket <path>', 'the node control socket')
      .option('--run-dir <dir>', 'where nodes register')
      .option('--api <url>', "the node's management API (http(s)://host:port) instead of its control socket")
      .option('--token <token>', 'bearer token for --api (default $SVR_API_TOKEN)')
      .option('--token-file <file>', 'a file whose first line is the token for --api')
      .option('--ca <file>', 'PEM certificate to trust for an HTTPS --api');
    if (what === 'sessions') cmd.option('--limit <n>', `only the oldest n sessions: the node summarizes only those (default ${SESSIONS_TABLE_LIMIT} as a table, all with --json; 0: all)`);
    if (what === 'events') cmd.option('--since <time>', 'events at or after an ISO 8601 time, or a time ago: 30s, 10m, 2h, 1d');
    if (what === 'rib' || what === 'fib') cmd.option('--vrf <name>', what === 'rib' ? 'only this VRF\'s routes (default, or a routing.vrfs name)' : 'learned next hops from this VRF\'s RIB only');
    if (what === 'fib') cmd.option('--service <name>', 'only this service\'s entries').option('--tenant <name>', 'only entries whose access policy names this tenant');
    if (what === 'bgp') cmd.argument('[part]', 'neighbors or routes (default: both, and FRR\'s state)');
    cmd.action(async (...args: unknown[]) => {
        const part = what === 'bgp' ? args[0] as string | undefined : undefined;
        const o = (what === 'bgp' ? args[1] : args[0]) as ShowOptions;
        try {
          if (part !== undefined && part !== 'neighbors' && part !== 'routes') throw new SvrError('SVR_ERR_CONTROL_REQUEST', `show bgp ${part}: expected neighbors or routes`);
          const since = o.since === undefined ? undefined : parseSince(o.since);
          const limit = what === 'sessions' ? sessionsLimit(o) : undefined;
          const asked = o.api !== undefined ? limitSessions(await showOverApi(what, o, since), limit)
            : await request(selectNodeSocket(o), { method: 'show', what, ...(since !== undefined ? { since } : {}), ...(limit !== undefined ? { limit } : {}), ...(o.vrf !== undefined ? { vrf: o.vrf } : {}) });
          const shown = what === 'fib' ? filterFib(asked as FibView, o) : asked;
          // --json of sessions stays a list of sessions
          const result = o.json && limit !== undefined ? (shown as SessionsShown).sessions : shown;
          const json = what === 'bgp' && part !== undefined ? (result as BgpShow)[part as 'neighbors' | 'routes'] : result;
          process.stdout.write((o.json ? JSON.stringify(json, null, 2) : render(what, result, part)) + '\n');
        } catch (e) {
          if (!isSvrError(e)) throw e;
          process.stderr.write(`svr show ${what}: ${e.message}\n`);
          process.exitCode = 1;
        }
      });
  }
}
