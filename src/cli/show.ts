/**
 * `svr show sessions|peers|services|tenants|plugins|stats|config|alarms|events`: state of a running node, as
 * tables or JSON, over its control socket (this host) or its management API (`--api URL`, any host).
 */
import type { Command } from 'commander';
import { stringify } from 'yaml';
import type { ServiceView, SessionSummary, TenantView, TupleSummary } from '../dataplane/views.js';
import { SvrError, isSvrError } from '../errors.js';
import type { BusyPollStats } from '../io/tun/native.js';
import { request } from '../node/control-client.js';
import { SHOW_WHAT, type ShowWhat } from '../node/control-protocol.js';
import type { PeerSummary } from '../control/router.js';
import type { PluginView } from '../plugins/host.js';
import type { Alarm, NodeEvent } from '../telemetry/alarms/registry.js';
import { apiGet, apiGetAll, apiTarget } from './api-client.js';
import type { CollectorView } from '../telemetry/session-records.js';
import { selectNodeSocket, type NodeSelector } from './node-select.js';
import { countersHelp } from './counters-help.js';
import { humanBytes, humanDuration, renderTable } from '../util/text-table.js';

interface ShowOptions extends NodeSelector {
  json?: boolean;
  api?: string;
  token?: string;
  tokenFile?: string;
  ca?: string;
  since?: string;
}

const tuple = (t: TupleSummary) => `${t.src}:${t.srcPort} > ${t.dst}:${t.dstPort}`;

function sessionsTable(rows: (SessionSummary & { worker?: number })[]): string {
  if (rows.length === 0) return 'no sessions';
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
  ) + `\n${rows.length} session${rows.length === 1 ? '' : 's'}`;
}

function peersTable(rows: PeerSummary[]): string {
  if (rows.length === 0) return 'no peers';
  const ms = (v: number | undefined) => (v === undefined ? '-' : `${v.toFixed(1)}`);
  return renderTable(
    ['PEER', 'PATH', 'USABLE', 'BFD', 'VECTOR', 'LATENCY MS', 'JITTER MS', 'LOSS %', 'MOS', 'UPTIME', 'FLAPS', 'HOLD-DOWN', 'SESSIONS', 'MTU', 'WAYPOINTS', 'NAT'],
    rows.flatMap((p) => p.paths.map((x) => [
      p.name, x.name, x.up ? 'yes' : 'no', x.bfd, x.vector || '-', ms(x.latencyMs), ms(x.jitterMs), ms(x.lossPct), x.mos === undefined ? '-' : x.mos.toFixed(2),
      humanDuration(x.uptimeMs), x.flaps, x.holdDownMs > 0 ? humanDuration(x.holdDownMs) : '-', x.sessions, mtuText(x.mtu, x.mtuState), `${x.localWaypoint} > ${x.remoteWaypoint}`, natText(x.nat),
    ])),
  );
}

/** The path MTU, marked when not discovered by probes. */
function mtuText(mtu: number, state: string): string {
  return state === 'discovered' ? String(mtu) : state === 'unresolvable' ? `${mtu} (unresolvable)` : `${mtu} (${state})`;
}

/** NAT traversal of a path: the learned peer address (we answer there) or where the peer sees us, and the changes. */
function natText(n: PeerSummary['paths'][number]['nat']): string {
  if (n === undefined) return '-';
  const where = n.role === 'peer-behind-nat' ? `peer at ${n.learned ?? '(not heard yet)'}` : `seen as ${n.seenAs ?? '(not told yet)'}`;
  return `${where}, ${n.addressChanges} change${n.addressChanges === 1 ? '' : 's'}${n.damped ? `, ${n.damped} damped` : ''}`;
}

function tenantsTable(rows: TenantView[]): string {
  return renderTable(['TENANT', 'INTERFACES', 'SESSIONS'], rows.map((t) => [t.name, t.interfaces.join(',') || '-', t.sessions]));
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

function render(what: ShowWhat, result: unknown): string {
  switch (what) {
    case 'sessions': return sessionsTable(result as SessionSummary[]);
    case 'peers': return peersTable(result as PeerSummary[]);
    case 'services': return servicesTableWithPaths(result as ServiceView[]);
    case 'tenants': return tenantsTable(result as TenantView[]);
    case 'plugins': return pluginsTable(result as PluginView[]);
    case 'stats': return statsTable(result as Record<string, unknown>);
    case 'config': return stringify(result).trimEnd();
    case 'alarms': return alarmsTable(result as Alarm[]);
    case 'events': return eventsTable(result as NodeEvent[]);
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

/** The same answer as the control socket's, from the node's management API. */
async function showOverApi(what: ShowWhat, o: ShowOptions, since: number | undefined): Promise<unknown> {
  const t = apiTarget({ api: o.api!, ...(o.token !== undefined ? { token: o.token } : {}), ...(o.tokenFile !== undefined ? { tokenFile: o.tokenFile } : {}), ...(o.ca !== undefined ? { ca: o.ca } : {}) });
  if (what === 'sessions') return apiGetAll(t, '/api/v1/sessions', 'cursor');
  if (what === 'events') return apiGetAll(t, '/api/v1/events', 'after', { since: since === undefined ? undefined : new Date(since).toISOString() });
  return apiGet(t, `/api/v1/${what}`);
}

export function registerShow(program: Command): void {
  const show = program
    .command('show')
    .summary('show state of a running node: sessions, peers, services, tenants, plugins, stats, config, alarms, events')
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
  svr show config                # the running config (secrets, keys and tokens redacted)
  svr show alarms                # active alarms: peer path down, peer unreachable, session table, plugins
  svr show events --since 10m    # alarms raised and cleared, configs applied or refused
  svr show peers --api https://198.18.61.2:8443 --token-file ops.token --ca api.crt`);
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
    if (what === 'events') cmd.option('--since <time>', 'events at or after an ISO 8601 time, or a time ago: 30s, 10m, 2h, 1d');
    cmd.action(async (o: ShowOptions) => {
        try {
          const since = o.since === undefined ? undefined : parseSince(o.since);
          const result = o.api !== undefined ? await showOverApi(what, o, since)
            : await request(selectNodeSocket(o), { method: 'show', what, ...(since !== undefined ? { since } : {}) });
          process.stdout.write((o.json ? JSON.stringify(result, null, 2) : render(what, result)) + '\n');
        } catch (e) {
          if (!isSvrError(e)) throw e;
          process.stderr.write(`svr show ${what}: ${e.message}\n`);
          process.exitCode = 1;
        }
      });
  }
}
