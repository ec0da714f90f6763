/** `svr conductor start|login|token|show|user`: run a conductor, and talk to one (docs/conductor.md). */
import type { Command } from 'commander';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { isSvrError, SvrError } from '../errors.js';
import type { RouterStatus, AssetStatus } from '../conductor/fleet.js';
import type { Alarm } from '../conductor/alarms.js';
import type { AuditEvent, TokenRecord } from '../conductor/store/authority-store.js';
import { DEFAULT_CONDUCTOR_PORT, startConductor } from '../conductor/conductor.js';
import { NodeLog } from '../node/log.js';
import { api, conductorRequest, saveSession } from './conductor-client.js';
import { humanDuration, renderTable } from '../util/text-table.js';

export const DEFAULT_CONDUCTOR_DATA_DIR = '/var/lib/svrouter/conductor';

function fail(cmd: string, e: unknown): void {
  if (!isSvrError(e)) throw e;
  process.stderr.write(`svr ${cmd}: ${e.message}\n`);
  process.exitCode = 1;
}

const list = (v: string | undefined): string[] => (v ?? '').split(',').map((s) => s.trim()).filter((s) => s !== '');

export function parseListen(value: string): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:]+))?:?(\d+)?$/.exec(value);
  const port = Number(m?.[3] ?? DEFAULT_CONDUCTOR_PORT);
  if (m === null || !Number.isInteger(port) || port < 0 || port > 65535) throw new SvrError('SVR_ERR_CLI_OPTION', `--listen ${value}: expected HOST:PORT, e.g. 0.0.0.0:4443`);
  return { host: m[1] ?? m[2] ?? '0.0.0.0', port };
}

function readSecret(file: string | undefined, what: string): string | undefined {
  if (file === undefined) return undefined;
  try {
    return readFileSync(file, 'utf8').trim();
  } catch (e) {
    throw new SvrError('SVR_ERR_CLI_OPTION', `cannot read the ${what} file ${file}: ${e instanceof Error ? e.message : String(e)}`);
  }
}

const ago = (iso: string | null) => (iso === null ? '-' : `${humanDuration(Date.now() - Date.parse(iso))} ago`);

function routersTable(rows: RouterStatus[]): string {
  if (rows.length === 0) return 'no routers (commit a config with routers)';
  return renderTable(
    ['ROUTER', 'ASSET', 'STATUS', 'VERSION', 'HEAD', 'LAST SEEN', 'ADDRESS', 'HEALTH', 'SESSIONS', 'PEERS UP', 'ALARMS', 'LAST ERROR'],
    rows.map((r) => [
      r.router, r.assetId, r.status, r.version ?? '-', r.head, ago(r.lastSeen), r.address ?? '-', r.report?.health ?? '-', r.report?.sessions ?? '-',
      r.report === null ? '-' : `${r.report.peers.filter((p) => p.reachable).length}/${r.report.peers.length}`, r.report?.alarms.length ?? '-', r.lastError ?? '-',
    ]),
  );
}

function assetsTable(rows: AssetStatus[]): string {
  if (rows.length === 0) return 'no assets enrolled (svr conductor token create --asset-id ID, then svr node start --conductor URL --asset-id ID --token TOKEN)';
  return renderTable(['ASSET', 'ROUTER', 'STATUS', 'CONNECTED', 'ADDRESS', 'ENROLLED'], rows.map((a) => [a.assetId, a.router ?? '-', a.status, a.connected ? 'yes' : 'no', a.address ?? '-', a.enrolledAt]));
}

interface PeerRow { router: string; peer: string; reachable: boolean; paths: Array<{ name: string; up: boolean; latencyMs?: number; jitterMs?: number; lossPercent?: number; mos?: number }> }

function peersTable(rows: PeerRow[]): string {
  if (rows.length === 0) return 'no peers reported';
  const n = (v: number | undefined, d = 1) => (v === undefined ? '-' : v.toFixed(d));
  return renderTable(['ROUTER', 'PEER', 'REACHABLE', 'PATH', 'UP', 'LATENCY MS', 'JITTER MS', 'LOSS %', 'MOS'],
    rows.flatMap((p) => (p.paths.length === 0 ? [{ name: '-', up: false }] : p.paths).map((x) => [p.router, p.peer, p.reachable ? 'yes' : 'no', x.name, x.up ? 'yes' : 'no', n(x.latencyMs), n(x.jitterMs), n(x.lossPercent, 2), n(x.mos, 2)])));
}

function alarmsTable(rows: Alarm[]): string {
  if (rows.length === 0) return 'no active alarms';
  return renderTable(['ALARM', 'SEVERITY', 'SINCE', 'MESSAGE'], rows.map((a) => [a.id, a.severity, a.since, a.message]));
}

function auditTable(rows: AuditEvent[]): string {
  if (rows.length === 0) return 'no audit events';
  return renderTable(['SEQ', 'TIME', 'USER', 'ACTION', 'RESULT', 'TARGET', 'DETAIL'], rows.map((e) => [e.seq, e.time, e.user, e.action, e.result, e.target ?? '-', (e.detail ?? '').replace(/\s+/g, ' ').slice(0, 100)]));
}

function tokensTable(rows: Omit<TokenRecord, 'secretHash'>[]): string {
  if (rows.length === 0) return 'no tokens';
  return renderTable(['TOKEN', 'ASSET', 'CREATED BY', 'EXPIRES', 'USED'], rows.map((t) => [t.id, t.assetId, t.createdBy, t.expiresAt, t.usedAt ?? 'no']));
}

interface StepView {
  documents: Array<{ router: string; version: number; services: { name: string; reachable: boolean }[]; peers: { peer: string; paths: { usable: boolean }[] }[] }>;
  subscriptions: Array<{ router: string; services: string[]; documents: string[] }>;
  counters: Record<string, number>;
}

function stepTables(v: StepView): string {
  const docs = v.documents.length === 0 ? 'no STEP documents (routers publish here when the config says step: { mode: conductor })'
    : renderTable(['ROUTER', 'VERSION', 'DELIVERS', 'PEERS (USABLE)'], v.documents.map((d) => [
      d.router, d.version, d.services.filter((x) => x.reachable).map((x) => x.name).join(',') || '-',
      d.peers.map((p) => `${p.peer}${p.paths.some((x) => x.usable) ? '' : ' (down)'}`).join(',') || '-',
    ]));
  const subs = v.subscriptions.length === 0 ? '' : `

${renderTable(['SUBSCRIBER', 'SERVICES', 'SENT DOCUMENTS OF'], v.subscriptions.map((x) => [x.router, x.services.join(',') || '-', x.documents.join(',') || '-']))}`;
  return `${docs}${subs}`;
}

const SHOW: Record<string, { path: string; help: string; render: (r: never) => string }> = {
  step: { path: '/api/v1/step', help: 'the STEP repository: each router\'s document (what it delivers, its peers) and the subscriptions', render: stepTables },
  routers: { path: '/api/v1/routers', help: 'each router: asset, status, config version, last seen, health, sessions, peers up, alarms', render: routersTable },
  assets: { path: '/api/v1/assets', help: 'each enrolled asset: its router, status, connected or not, address', render: assetsTable },
  peers: { path: '/api/v1/peers', help: 'each router\'s peers and paths as the routers report them: up, latency, jitter, loss, MOS', render: peersTable },
  alarms: { path: '/api/v1/alarms', help: 'the active alarms of the fabric', render: alarmsTable },
  audit: { path: '/api/v1/audit', help: 'the audit log: who did what, when, with what result', render: auditTable },
  tokens: { path: '/api/v1/tokens', help: 'the enrolment tokens: asset, creator, expiry, when used', render: tokensTable },
  status: { path: '/api/v1/status', help: 'this conductor: its URL, role (leader or standby), the leader, config version, store', render: (s: { role: string; leader: string | null; url: string; version: number; store: string }) => `${s.url}: ${s.role} (leader ${s.leader ?? 'unknown'}), version ${s.version}, store ${s.store}` },
};

const START_HELP = `
What it does:
  Owns the authority: its config versions, the candidate, the audit log, enrolled routers (assets),
  enrolment tokens and the authority's certificate authority, in a LevelDB under --data-dir (or in
  etcd with --etcd, shared by two or three conductors: one leads, the others stand by and take over
  when its lease expires). On first start with --config, that file becomes version 1; the first user
  is "admin" with the password from --admin-password-file, $SVR_CONDUCTOR_PASSWORD, or a generated one
  written to <data-dir>/admin-password. Serves the API and the routers' channel over HTTPS on
  --listen; the authority CA certificate is written to <data-dir>/ca.pem.

Examples:
  svr conductor start --config authority.yaml --data-dir /tmp/cd --listen 127.0.0.1:4443
  svr conductor start --data-dir /tmp/c1 --listen 127.0.0.1:4443 --etcd http://127.0.0.1:2379 --peer https://127.0.0.1:4444`;

export function registerConductor(program: Command): void {
  const cond = program.command('conductor').summary('run a conductor (svr conductor start), enrol routers, show the fabric').description('The conductor: one authority\'s config and state for many routers (docs/conductor.md).');

  cond.command('start')
    .description('run a conductor in the foreground')
    .option('-c, --config <file>', 'authority config: version 1 when the store is empty')
    .option('--data-dir <dir>', 'state directory (LevelDB, ca.pem, admin-password)', process.env['SVR_CONDUCTOR_DATA_DIR'] ?? DEFAULT_CONDUCTOR_DATA_DIR)
    .option('--listen <host:port>', 'HTTPS address of the API and the routers\' channel', `0.0.0.0:${DEFAULT_CONDUCTOR_PORT}`)
    .option('--advertise <urls>', 'comma-separated URLs routers and people use for this conductor (their hosts go in its certificate); default https://<listen>')
    .option('--peer <urls>', 'comma-separated URLs of the other conductors (HA), told to routers')
    .option('--etcd <urls>', 'comma-separated etcd client URLs: keep the state in etcd (HA) instead of LevelDB')
    .option('--etcd-prefix <prefix>', 'etcd key prefix of this authority', '/svrouter/')
    .option('--admin-password-file <file>', 'password of the first admin user')
    .option('--log-format <format>', 'text or json', 'text')
    .addHelpText('after', START_HELP)
    .action(async (o: { config?: string; dataDir: string; listen: string; advertise?: string; peer?: string; etcd?: string; etcdPrefix: string; adminPasswordFile?: string; logFormat: string }) => {
      try {
        const log = new NodeLog('conductor', o.logFormat === 'json' ? 'json' : 'text');
        const { host, port } = parseListen(o.listen);
        const c = await startConductor({
          configPath: o.config, dataDir: o.dataDir, host, port, advertise: list(o.advertise), peers: list(o.peer), etcd: list(o.etcd), etcdPrefix: o.etcdPrefix,
          adminPassword: readSecret(o.adminPasswordFile, 'admin password'), log: (e, f) => log.info(e, f),
        });
        await new Promise<void>((resolve) => {
          const stop = (sig: string) => {
            log.info('conductor.stopping', { reason: sig });
            void c.stop().then(resolve);
          };
          process.once('SIGINT', () => stop('SIGINT'));
          process.once('SIGTERM', () => stop('SIGTERM'));
        });
      } catch (e) {
        fail('conductor start', e);
      }
    });

  cond.command('login')
    .description('log in to a conductor; later svr conductor/config commands use the saved session')
    .requiredOption('--conductor <urls>', 'comma-separated conductor URLs (https://HOST:4443)')
    .option('--ca <file>', 'the authority CA certificate (the conductor writes it to <data-dir>/ca.pem)')
    .option('--data-dir <dir>', 'a local conductor\'s data dir: its ca.pem (and admin-password) are used')
    .option('--user <name>', 'user', 'admin')
    .option('--password-file <file>', 'file with the password (default $SVR_CONDUCTOR_PASSWORD, or <data-dir>/admin-password)')
    .action(async (o: { conductor: string; ca?: string; dataDir?: string; user: string; passwordFile?: string }) => {
      try {
        const caFile = o.ca ?? (o.dataDir === undefined ? undefined : join(o.dataDir, 'ca.pem'));
        if (caFile === undefined) throw new SvrError('SVR_ERR_CLI_OPTION', 'pass --ca CA.pem (or --data-dir of a local conductor): the CLI only trusts the authority\'s CA');
        const ca = readSecret(caFile, 'CA certificate')!;
        const password = readSecret(o.passwordFile, 'password') ?? process.env['SVR_CONDUCTOR_PASSWORD'] ?? readSecret(o.dataDir === undefined ? undefined : join(o.dataDir, 'admin-password'), 'admin password');
        if (password === undefined) throw new SvrError('SVR_ERR_CLI_OPTION', 'no password: pass --password-file FILE or set SVR_CONDUCTOR_PASSWORD');
        const conductors = list(o.conductor);
        const r = await conductorRequest<{ token: string; role: string; expiresAt: string }>(conductors, ca, 'POST', '/api/v1/login', { user: o.user, password });
        const path = saveSession({ conductors, ca, user: o.user, token: r.token, expiresAt: r.expiresAt });
        process.stdout.write(`logged in as ${o.user} (${r.role}) until ${r.expiresAt}; session saved in ${path}\n`);
      } catch (e) {
        fail('conductor login', e);
      }
    });

  const token = cond.command('token').description('one-time enrolment tokens (zero-touch provisioning)');
  token.command('create')
    .description('create a one-time enrolment token for an asset id')
    .requiredOption('--asset-id <id>', 'the asset id the router will present (a router\'s asset-id, default its name)')
    .option('--ttl-minutes <n>', 'minutes the token stays valid', '1440')
    .option('--quiet', 'print only the token')
    .action(async (o: { assetId: string; ttlMinutes: string; quiet?: boolean }) => {
      try {
        const r = await api<{ token: string; id: string; assetId: string; expiresAt: string }>('POST', '/api/v1/tokens', { assetId: o.assetId, ttlMinutes: Number(o.ttlMinutes) });
        process.stdout.write(o.quiet === true ? `${r.token}\n` : `${r.token}\n(token ${r.id} for asset ${r.assetId}, valid once until ${r.expiresAt}; on the router: svr node start --conductor URL --asset-id ${r.assetId} --token TOKEN)\n`);
      } catch (e) {
        fail('conductor token create', e);
      }
    });

  const show = cond.command('show').description('show the fabric as the conductor sees it');
  for (const [what, spec] of Object.entries(SHOW)) {
    show.command(what)
      .description(spec.help)
      .option('--json', 'print JSON instead of a table')
      .action(async (o: { json?: boolean }) => {
        try {
          const result = await api<never>('GET', spec.path);
          process.stdout.write(`${o.json === true ? JSON.stringify(result, null, 2) : spec.render(result)}\n`);
        } catch (e) {
          fail(`conductor show ${what}`, e);
        }
      });
  }

  cond.command('user')
    .description('add (or replace) a user')
    .argument('<name>')
    .requiredOption('--role <role>', 'admin or read-only')
    .requiredOption('--password-file <file>', 'file with the password (8 characters at least)')
    .action(async (name: string, o: { role: string; passwordFile: string }) => {
      try {
        const r = await api<{ name: string; role: string }>('POST', '/api/v1/users', { name, role: o.role, password: readSecret(o.passwordFile, 'password') });
        process.stdout.write(`user ${r.name} (${r.role})\n`);
      } catch (e) {
        fail('conductor user', e);
      }
    });
}
