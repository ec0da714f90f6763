/** `svr show sessions|peers|services|tenants|stats|config`: state of a running node, as tables or JSON. */
import type { Command } from 'commander';
import { stringify } from 'yaml';
import type { ServiceView, SessionSummary, TenantView, TupleSummary } from '../dataplane/views.js';
import { isSvrError } from '../errors.js';
import type { BusyPollStats } from '../io/tun/native.js';
import { request } from '../node/control-client.js';
import { SHOW_WHAT, type ShowWhat } from '../node/control-protocol.js';
import type { PeerSummary } from '../control/router.js';
import type { PluginView } from '../plugins/host.js';
import type { CollectorView } from '../telemetry/session-records.js';
import { selectNodeSocket, type NodeSelector } from './node-select.js';
import { countersHelp } from './counters-help.js';
import { humanBytes, humanDuration, renderTable } from '../util/text-table.js';

interface ShowOptions extends NodeSelector {
  json?: boolean;
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

function statsTable(stats: Record<string, unknown>): string {
  const counters = Object.entries(stats).filter((e): e is [string, number] => typeof e[1] === 'number');
  const nonZero = counters.filter(([, v]) => v !== 0);
  const ifs = (stats['interfaces'] as Record<string, unknown>[] | undefined) ?? [];
  const parts = [renderTable(['COUNTER', 'VALUE'], nonZero.map(([k, v]) => [k, v]))];
  if (ifs.length > 0) {
    // READS: where the TUN queue is read now (poll: the main loop, at low load; thread: the reader thread)
    parts.push(renderTable(['INTERFACE', 'DEVICE', 'RX', 'TX', 'TX DROPS', 'READS'], ifs.map((i) => [
      String(i['interface']), String(i['device']), Number(i['rxPackets']), Number(i['txPackets']), Number(i['txDrops']), String(i['readerMode'] ?? '-'),
    ])));
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

function render(what: ShowWhat, result: unknown): string {
  switch (what) {
    case 'sessions': return sessionsTable(result as SessionSummary[]);
    case 'peers': return peersTable(result as PeerSummary[]);
    case 'services': return servicesTableWithPaths(result as ServiceView[]);
    case 'tenants': return tenantsTable(result as TenantView[]);
    case 'plugins': return pluginsTable(result as PluginView[]);
    case 'stats': return statsTable(result as Record<string, unknown>);
    case 'config': return stringify(result).trimEnd();
  }
}

export function registerShow(program: Command): void {
  const show = program
    .command('show')
    .summary('show state of a running node: sessions, peers, services, tenants, stats, config')
    .description('Show the state of a running node (tables by default, --json for scripts).')
    .addHelpText('after', `
Which node: --socket PATH, or --node NAME (nodes register in $SVR_RUN_DIR or /run/svrouter; lab
nodes are r1 and r2), or, with neither, the only node running on this host (r1 when a lab is up).

Examples:
  svr show sessions              # the session table: original and waypoint 5-tuples, peer, age, packets, bytes
  svr show sessions --node r2 --json
  svr show stats                 # counters: packets in/out, drops by reason, sessions
  svr show config                # the running config (secrets and keys redacted)`);
  for (const what of SHOW_WHAT) {
    show
      .command(what)
      .description(`show the node's ${what}`)
      .addHelpText('after', what === 'stats' ? countersHelp() : '')
      .option('--json', 'print JSON instead of a table')
      .option('--node <name>', 'the node to ask')
      .option('--socket <path>', 'the node control socket')
      .option('--run-dir <dir>', 'where nodes register')
      .action(async (o: ShowOptions) => {
        try {
          const result = await request(selectNodeSocket(o), { method: 'show', what });
          process.stdout.write((o.json ? JSON.stringify(result, null, 2) : render(what, result)) + '\n');
        } catch (e) {
          if (!isSvrError(e)) throw e;
          process.stderr.write(`svr show ${what}: ${e.message}\n`);
          process.exitCode = 1;
        }
      });
  }
}
