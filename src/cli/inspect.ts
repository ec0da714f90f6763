/**
 * `svr inspect`: what a node recorded.
 * - `sessions` (filters, paging) and `session <id>`: the session history. A running node answers over its
 *   control socket; a stopped one (or --data-dir) is read from its LevelDB store directly (one opener).
 * - `counters`, `config`: a stopped node's counter snapshots and applied configs (LevelDB).
 * - `plugin <name>`: a plugin's store (inspect-plugin.ts).
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from 'commander';
import { isSvrError, SvrError } from '../errors.js';
import { labNode } from '../lab/state.js';
import { request } from '../node/control-client.js';
import { alive, findNode, runDir } from '../node/registry.js';
import { Store } from '../store/store.js';
import { SessionHistory } from '../telemetry/history/history.js';
import { historyDirOf } from '../telemetry/records-thread.js';
import type { HistoryPage, HistoryQuery } from '../telemetry/history/query.js';
import { CLOSE_REASONS, type CloseReason, type FiveTuple, type SessionRecord } from '../telemetry/record.js';
import { registerInspectPlugin } from './inspect-plugin.js';
import { humanBytes, humanDuration, renderTable } from '../util/text-table.js';
import { selectNodeSocket } from './node-select.js';

interface Where {
  dataDir?: string;
  node?: string;
  socket?: string;
  runDir?: string;
}

interface SessionsOptions extends Where {
  since?: string;
  until?: string;
  tenant?: string;
  service?: string;
  application?: string;
  source?: string;
  destination?: string;
  port?: string;
  sourcePort?: string;
  router?: string;
  path?: string;
  reason?: string;
  denied?: boolean;
  live?: boolean;
  limit: string;
  cursor?: string;
  oldest?: boolean;
  json?: boolean;
}

const STORE_KINDS = ['counters', 'config'] as const;

/** The state directory a node name stands for: the lab's node, else $SVR_DATA_DIR/<name> or /var/lib/svrouter/<name>. */
function dataDirOf(name: string): string {
  return labNode(name)?.dataDir ?? join(process.env['SVR_DATA_DIR'] ?? '/var/lib/svrouter', name);
}

/** Ask the running node over its socket, or read its store when it is not running (or --data-dir). */
type Source = { socket: string } | { dataDir: string };

function sourceOf(o: Where): Source {
  if (o.dataDir !== undefined) return { dataDir: o.dataDir };
  if (o.socket !== undefined) return { socket: o.socket };
  if (o.node !== undefined) {
    const registered = findNode(runDir(o.runDir), o.node);
    if (registered !== undefined) return { socket: registered.socket };
    const lab = labNode(o.node);
    if (lab !== undefined && alive(lab.pid)) return { socket: lab.socket };
    return { dataDir: dataDirOf(o.node) };
  }
  return { socket: selectNodeSocket(o) };
}

async function withHistory<T>(dataDir: string, fn: (h: SessionHistory) => Promise<T>): Promise<T> {
  if (!existsSync(dataDir)) throw new SvrError('SVR_ERR_STORE_OPEN', `no state database at ${dataDir} (pass --data-dir, or --node NAME of a node that ran here)`);
  const store = await Store.open(historyDirOf(dataDir));
  try {
    const h = await SessionHistory.open(store, { readOnly: true });
    try {
      return await fn(h);
    } finally {
      await h.close();
    }
  } finally {
    await store.close();
  }
}

const UNITS: Readonly<Record<string, number>> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** `2025-06-02T10:00:00Z`, a date, `15m` / `2h` / `7d` ago, or ms since the epoch. */
export function parseTime(text: string, option: string, nowMs = Date.now()): number {
  const rel = /^(\d+(?:\.\d+)?)([smhd])$/.exec(text.trim());
  if (rel !== null) return nowMs - Number(rel[1]) * UNITS[rel[2]!]!;
  if (/^\d{10,}$/.test(text.trim())) return Number(text);
  const t = Date.parse(text);
  if (Number.isNaN(t)) throw new SvrError('SVR_ERR_HISTORY_QUERY', `${option} ${JSON.stringify(text)}: expected a time (2025-06-02T10:00:00Z), an age (15m, 2h, 7d) or ms since the epoch`, { parameter: option });
  return t;
}

function portOption(text: string | undefined, option: string): number | undefined {
  if (text === undefined) return undefined;
  if (!/^\d+$/.test(text) || Number(text) > 65535) throw new SvrError('SVR_ERR_HISTORY_QUERY', `${option} ${JSON.stringify(text)}: expected a port 0-65535`, { parameter: option });
  return Number(text);
}

/** The history query the options ask for. */
export function queryOf(o: SessionsOptions): HistoryQuery {
  const q: HistoryQuery = { limit: Number(o.limit) };
  if (!/^\d+$/.test(o.limit)) throw new SvrError('SVR_ERR_HISTORY_QUERY', `--limit ${JSON.stringify(o.limit)}: expected a whole number 1-1000`, { parameter: 'limit' });
  if (o.since !== undefined) q.from = parseTime(o.since, '--since');
  if (o.until !== undefined) q.to = parseTime(o.until, '--until');
  for (const k of ['tenant', 'service', 'application', 'source', 'destination', 'router', 'path', 'cursor'] as const) {
    const v = o[k];
    if (v !== undefined) q[k] = v;
  }
  const port = portOption(o.port, '--port');
  const sourcePort = portOption(o.sourcePort, '--source-port');
  if (port !== undefined) q.port = port;
  if (sourcePort !== undefined) q.sourcePort = sourcePort;
  if (o.denied === true && o.reason !== undefined && o.reason !== 'denied') throw new SvrError('SVR_ERR_HISTORY_QUERY', `--denied and --reason ${o.reason} ask for different close reasons`, { parameter: 'reason' });
  if (o.denied === true) q.closeReason = 'denied';
  else if (o.reason !== undefined) q.closeReason = o.reason as CloseReason; // checked by the query
  if (o.live === true) q.kind = 'interim';
  if (o.oldest === true) q.order = 'oldest';
  return q;
}

const tuple = (t: FiveTuple): string => `${t.src}:${t.srcPort} > ${t.dst}:${t.dstPort}`;
const PROTOCOLS: Readonly<Record<number, string>> = { 1: 'icmp', 6: 'tcp', 17: 'udp', 58: 'icmpv6' };
const proto = (p: number): string => PROTOCOLS[p] ?? String(p);

function outcome(r: SessionRecord): string {
  if (r.kind === 'interim') return 'open';
  return r.closeReason === 'denied' ? `denied: ${r.deniedReason ?? '?'}` : r.closeReason ?? '?';
}

function sessionsTable(page: HistoryPage): string {
  if (page.records.length === 0) return `no sessions recorded match${page.cursor !== undefined ? ` (among the ${page.scanned} read so far; --cursor ${page.cursor} reads on)` : ''}`;
  const table = renderTable(
    ['END', 'SESSION', 'ROUTER', 'OUTCOME', 'TENANT', 'SERVICE', 'APP', 'PROTO', 'FORWARD', 'PATHS', 'PKTS F/R', 'BYTES F/R', 'DURATION'],
    page.records.map((r) => [
      new Date(r.endMs).toISOString(), r.sessionId, r.router, outcome(r), r.tenant || '-', r.service || '-', r.application || '-', proto(r.forward.protocol),
      tuple(r.forward), r.paths.join(' > ') || '-', `${r.packets[0]}/${r.packets[1]}`, `${humanBytes(r.bytes[0])}/${humanBytes(r.bytes[1])}`, humanDuration(r.endMs - r.startMs),
    ]),
  );
  const more = page.cursor !== undefined ? `\nmore: pass --cursor ${page.cursor} (same filters) for the next page` : '';
  return `${table}\n${page.records.length} session${page.records.length === 1 ? '' : 's'}${more}`;
}

/** One session's story: every field of its latest record, its path changes in order. */
export function sessionStory(r: SessionRecord): string {
  const at = (ms: number): string => new Date(ms).toISOString();
  const lines: [string, string][] = [
    ['session', r.sessionId],
    ['router', `${r.router} (${r.role}); ingress ${r.ingressRouter || '-'}, egress ${r.egressRouter || '-'}`],
    ['record', r.kind === 'end' ? `end record #${r.seq}` : `interim record #${r.seq} (the session was open then)`],
    ['tenant / service / app', `${r.tenant || '-'} / ${r.service || '-'} / ${r.application || '-'}`],
    ['forward', `${proto(r.forward.protocol)} ${tuple(r.forward)}`],
    ['reverse', `${proto(r.reverse.protocol)} ${tuple(r.reverse)}`],
  ];
  if (r.waypoint !== undefined) lines.push(['waypoint', `${proto(r.waypoint.protocol)} ${tuple(r.waypoint)}`]);
  if (r.nat !== undefined) lines.push(['nat', `${proto(r.nat.protocol)} ${tuple(r.nat)}`]);
  if (r.ingressInterface !== undefined || r.egressInterface !== undefined) lines.push(['interfaces', `${r.ingressInterface?.name ?? '-'} -> ${r.egressInterface?.name ?? '-'}`]);
  lines.push(['started', at(r.startMs)], [r.kind === 'end' ? 'ended' : 'recorded', `${at(r.endMs)} (${humanDuration(r.endMs - r.startMs)})`]);
  lines.push(['outcome', outcome(r)]);
  lines.push(['packets f/r', `${r.packets[0]} / ${r.packets[1]}`], ['bytes f/r', `${r.bytes[0]} / ${r.bytes[1]}`]);
  if (r.tcpRetransmissions !== undefined) lines.push(['tcp retransmissions f/r', `${r.tcpRetransmissions[0]} / ${r.tcpRetransmissions[1]}`]);
  lines.push(['paths', r.paths.join(' > ') || '- (local)']);
  const out = renderTable(['FIELD', 'VALUE'], lines);
  if (r.pathChanges.length === 0) return `${out}\nno path changes`;
  return `${out}\npath changes:\n${renderTable(['AT', 'FROM', 'TO', 'REASON'], r.pathChanges.map((c) => [at(c.atMs), c.from, c.to, c.reason]))}`;
}

function whereOptions(c: Command): Command {
  return c
    .option('--node <name>', 'a node: asked over its socket while it runs, else its state directory is read')
    .option('--data-dir <dir>', 'read this state directory (the node must be stopped: LevelDB has one opener)')
    .option('--socket <path>', 'ask the node on this control socket')
    .option('--run-dir <dir>', 'where nodes register');
}

function fail(what: string, e: unknown): void {
  if (!isSvrError(e)) throw e;
  process.stderr.write(`svr inspect ${what}: ${e.message}\n`);
  process.exitCode = 1;
}

async function newest(store: Store, sub: string, limit: number): Promise<[string, unknown][]> {
  const out: [string, unknown][] = [];
  for await (const [k, v] of store.sublevel(sub).iterator({ reverse: true, limit })) out.push([k, v]);
  return out;
}

function renderStored(kind: (typeof STORE_KINDS)[number], rows: [string, unknown][]): string {
  if (rows.length === 0) return `no ${kind} recorded`;
  if (kind === 'counters') {
    const [at, latest] = rows[0]!;
    const nonZero = Object.entries(latest as Record<string, number>).filter(([, n]) => n !== 0);
    return `snapshot ${at}\n` + renderTable(['COUNTER', 'VALUE'], nonZero);
  }
  return rows.map(([at, v]) => `# applied ${at}\n${JSON.stringify(v, null, 2)}`).join('\n');
}

export function registerInspect(program: Command): void {
  const inspect = program
    .command('inspect')
    .summary('what a node recorded: the session history, counter snapshots, configs')
    .description('Read what a node recorded. Sessions: asked of the running node, or read from a stopped node\'s LevelDB directory. '
      + 'Counters and configs: a stopped node\'s directory (LevelDB allows one opener: while the node runs, use `svr show`).');

  whereOptions(inspect.command('sessions').description('session records (end, interim, denied), newest first, filtered and paged'))
    .option('--since <time>', 'ended at or after: 2025-06-02T10:00:00Z, 15m, 2h, 7d (ago) or ms since the epoch')
    .option('--until <time>', 'ended before')
    .option('--tenant <name>', 'of this tenant')
    .option('--service <name>', 'of this service')
    .option('--application <name>', 'of this application')
    .option('--source <prefix>', 'client address or prefix')
    .option('--destination <prefix>', 'server address or prefix')
    .option('--port <n>', 'server port')
    .option('--source-port <n>', 'client port')
    .option('--router <name>', 'entered or left the fabric at this router')
    .option('--path <name>', 'used this peer path')
    .option('--reason <reason>', `closed for this reason: ${CLOSE_REASONS.join(', ')}`)
    .option('--denied', 'denied first packets only (--reason denied)')
    .option('--live', 'sessions still open (their latest interim record)')
    .option('--limit <n>', 'records per page, 1-1000', '50')
    .option('--cursor <cursor>', 'the next page of the same query')
    .option('--oldest', 'oldest first')
    .option('--json', 'print the page as JSON ({ records, cursor, scanned })')
    .addHelpText('after', `
Examples:
  svr inspect sessions --node r1 --since 1h --service web
  svr inspect sessions --node r1 --denied
  svr inspect sessions --data-dir /tmp/svr-lab/data/r1 --source 198.18.1.0/24 --port 80 --json
  svr inspect session 6f1c2a9e-4b7d-4c21-9a3e-0d1b2c3d4e5f --node r1`)
    .action(async (o: SessionsOptions) => {
      try {
        const q = queryOf(o);
        const src = sourceOf(o);
        const page = 'socket' in src
          ? await request(src.socket, { method: 'history', query: q }, 30_000) as HistoryPage
          : await withHistory(src.dataDir, (h) => h.query(q));
        process.stdout.write((o.json ? JSON.stringify(page, null, 2) : sessionsTable(page)) + '\n');
      } catch (e) {
        fail('sessions', e);
      }
    });

  whereOptions(inspect.command('session').argument('<id>', 'the session id (svr inspect sessions, svr show sessions)').description('one session\'s story: its latest record, its path changes'))
    .option('--json', 'print the record as JSON')
    .action(async (id: string, o: Where & { json?: boolean }) => {
      try {
        const src = sourceOf(o);
        const r = 'socket' in src
          ? await request(src.socket, { method: 'session', sessionId: id }) as SessionRecord | null
          : (await withHistory(src.dataDir, (h) => h.get(id))) ?? null;
        if (r === null) throw new SvrError('SVR_ERR_HISTORY_QUERY', `no record of session ${id} (svr inspect sessions lists the recorded ones)`, { parameter: 'id' });
        process.stdout.write((o.json ? JSON.stringify(r, null, 2) : sessionStory(r)) + '\n');
      } catch (e) {
        fail('session', e);
      }
    });

  for (const kind of STORE_KINDS) {
    inspect
      .command(kind)
      .description(`the newest recorded ${kind} of a stopped node`)
      .option('--data-dir <dir>', 'the node\'s state directory')
      .option('--node <name>', 'a node name: its state directory (a lab node\'s, else $SVR_DATA_DIR/<name> or /var/lib/svrouter/<name>)')
      .option('--limit <n>', 'how many records, newest first', '50')
      .option('--json', 'print JSON')
      .action(async (o: { dataDir?: string; node?: string; limit: string; json?: boolean }) => {
        const dir = o.dataDir ?? (o.node !== undefined ? dataDirOf(o.node) : undefined);
        if (dir === undefined) {
          process.stderr.write(`svr inspect ${kind}: pass --data-dir DIR or --node NAME\n`);
          process.exitCode = 1;
          return;
        }
        try {
          const store = await Store.open(dir);
          try {
            const rows = await newest(store, kind, Number(o.limit) || 50);
            process.stdout.write((o.json ? JSON.stringify(rows.map(([k, v]) => ({ key: k, value: v })), null, 2) : renderStored(kind, rows)) + '\n');
          } finally {
            await store.close();
          }
        } catch (e) {
          fail(kind, e);
        }
      });
  }
  registerInspectPlugin(inspect);
}
