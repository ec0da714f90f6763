/**
 * `svr conductor start`: one process that owns an authority's config and state.
 * 1. Open the store (LevelDB in the data dir, or etcd shared with other conductors, one of which leads).
 * 2. The CA and the API token key: made once, kept in the store (every conductor of the authority shares them).
 * 3. Users: the first start creates `admin` (password given, or made and written to <data-dir>/admin-password).
 * 4. Serve the API over HTTPS with a server certificate for the listen and advertised addresses.
 * 5. While leading: the head version's slices go to the fleet; a config file seeds version 1 of an
 *    empty store. Losing the lead closes every router channel (they follow the new leader).
 */
import { createPrivateKey, randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { parse as parseYaml } from 'yaml';
import { SvrError } from '../errors.js';
import { Alarms } from './alarms.js';
import { FabricEvents } from './events.js';
import { buildConductorApi, type ApiContext } from './api/app.js';
import { Tokens, hashPassword } from './api/auth.js';
import { CLOSE, REPORT_INTERVAL_MS } from './channel/protocol.js';
import { CONDUCTOR, FabricHistory } from './fabric-history.js';
import { Fleet } from './fleet.js';
import { Lifecycle } from './lifecycle.js';
import { createCa, issueCertificate, newKeyPair, signVersion, type KeyAndCertificate } from './pki/certificates.js';
import { RouterQueries } from './router-queries.js';
import { openStore } from './store/open.js';
import type { AuthorityStore } from './store/authority-store.js';
import type { Leadership } from './store/leadership.js';

export interface ConductorOptions {
  /** authority config that becomes version 1 when the store is empty */
  configPath?: string;
  dataDir: string;
  /** listen address, default 0.0.0.0 */
  host?: string;
  /** default 4443 */
  port?: number;
  /** URLs routers and people reach this conductor at (default https://<host>:<port>); their hosts go in its certificate */
  advertise?: string[];
  /** URLs of the other conductors (HA), told to routers so they can follow the leader */
  peers?: string[];
  etcd?: string[];
  etcdPrefix?: string;
  leaseTtlS?: number;
  /** password of the first `admin` user; default $SVR_CONDUCTOR_PASSWORD, else generated */
  adminPassword?: string;
  log: (event: string, fields: Record<string, string | number | boolean>) => void;
}

export interface RunningConductor {
  url: string;
  port: number;
  store: AuthorityStore;
  leadership: Leadership;
  lifecycle: Lifecycle;
  fleet: Fleet;
  events: FabricEvents;
  stop(): Promise<void>;
}

export const DEFAULT_CONDUCTOR_PORT = 4443;

export async function startConductor(o: ConductorOptions): Promise<RunningConductor> {
  mkdirSync(o.dataDir, { recursive: true, mode: 0o700 });
  const host = o.host ?? '0.0.0.0';
  const port = o.port ?? DEFAULT_CONDUCTOR_PORT;
  const advertise = o.advertise !== undefined && o.advertise.length > 0 ? o.advertise : [`https://${host === '0.0.0.0' ? '127.0.0.1' : host}:${port}`];
  const url = advertise[0]!;
  const seed = o.configPath === undefined ? undefined : readSeed(o.configPath);
  const { store, leadership } = await openStore({ dataDir: o.dataDir, etcd: o.etcd, etcdPrefix: o.etcdPrefix, url, leaseTtlS: o.leaseTtlS, log: o.log });
  let app: FastifyInstance | undefined;
  let alarmWatch: NodeJS.Timeout | undefined;
  try {
    const ca = await store.once<KeyAndCertificate>('ca', () => createCa(seed?.authority ?? 'authority'));
    writeFileSync(join(o.dataDir, 'ca.pem'), ca.certPem);
    const jwtKey = await store.once<string>('jwt-key', () => randomBytes(32).toString('hex'));
    await ensureAdmin(store, o);
    const events = new FabricEvents();
    store.onAudit((event) => events.emit({ type: 'audit', event }));
    const alarms = new Alarms(events);
    const conductors = () => [...new Set([...advertise, ...(o.peers ?? [])])];
    const caKey = createPrivateKey(ca.keyPem);
    const fleet = new Fleet({ store, alarms, conductors, events, log: o.log, sign: (asset, version, text) => signVersion(caKey, asset, version, text) });
    const lifecycle = new Lifecycle(store, fleet);
    const history = new FabricHistory();
    // the conductor's own alarms into the event history, looked at as often as routers report
    alarmWatch = setInterval(() => history.alarms(CONDUCTOR, alarms.list(), Date.now()), REPORT_INTERVAL_MS);
    const ctx: ApiContext = { store, leadership, lifecycle, fleet, alarms, events, history, queries: new RouterQueries(), ca, tokens: new Tokens(Buffer.from(jwtKey, 'hex')), url, conductors, log: o.log };
    const server = newKeyPair();
    const hosts = new Set(['127.0.0.1', 'localhost', ...advertise.map((u) => new URL(u).hostname.replace(/^\[|\]$/g, ''))]);
    if (host !== '0.0.0.0' && host !== '::') hosts.add(host);
    const isIp = (h: string) => /^[0-9.]+$/.test(h) || h.includes(':');
    const cert = issueCertificate(ca, { publicKeyPem: server.publicKeyPem, commonName: `conductor ${url}`, role: 'server', ipAddresses: [...hosts].filter(isIp), dnsNames: [...hosts].filter((h) => !isIp(h)) });
    app = await buildConductorApi(ctx, { key: server.keyPem, cert });
    const listening = app;
    let leading = false;
    const follow = async () => {
      if (leadership.isLeader === leading) return;
      leading = leadership.isLeader;
      if (!leading) {
        o.log('conductor.standby', { leader: leadership.leaderUrl ?? 'unknown' });
        fleet.closeAll(CLOSE.notLeader, 'this conductor stopped leading');
        return;
      }
      if (seed !== undefined) {
        const first = await lifecycle.seed(seed.text, o.configPath!).catch((e: unknown) => {
          o.log('conductor.seed-refused', { file: o.configPath!, error: e instanceof Error ? e.message : String(e) });
          return undefined;
        });
        if (first !== undefined) o.log('config.committed', { version: first.version, author: 'conductor', message: `initial config from ${o.configPath}` });
      }
      const head = await lifecycle.headSlices();
      const known = new Map((await store.assets()).map((a) => [a.assetId, a.version ?? null]));
      if (head !== undefined) fleet.setHead(head.version, head.slices, new Set(), known);
      o.log('conductor.leading', { version: head?.version ?? 0, routers: head?.slices.size ?? 0 });
    };
    leadership.onChange(() => void follow().catch((e: unknown) => o.log('conductor.error', { error: e instanceof Error ? e.message : String(e) })));
    await follow();
    await listening.listen({ host, port });
    const actualPort = (listening.server.address() as { port: number }).port;
    o.log('conductor.running', { url, listen: `${host}:${actualPort}`, store: store.kind, role: leadership.isLeader ? 'leader' : 'standby', dataDir: o.dataDir });
    let stopping: Promise<void> | undefined;
    return {
      url, port: actualPort, store, leadership, lifecycle, fleet, events,
      stop: () => (stopping ??= (async () => {
        clearInterval(alarmWatch);
        fleet.closeAll(1001, 'the conductor is stopping');
        fleet.stop();
        await listening.close();
        await leadership.close();
        await store.close();
        o.log('conductor.stopped', {});
      })()),
    };
  } catch (e) {
    clearInterval(alarmWatch);
    await app?.close().catch(() => undefined);
    await leadership.close().catch(() => undefined);
    await store.close().catch(() => undefined);
    throw e;
  }
}

function readSeed(path: string): { text: string; authority: string } {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new SvrError('SVR_ERR_CONFIG_READ', `cannot read configuration ${path}: ${e instanceof Error ? e.message : String(e)}`, { path });
  }
  let authority = 'authority';
  try {
    const name = (parseYaml(text) as { authority?: { name?: unknown } } | null)?.authority?.name;
    if (typeof name === 'string') authority = name;
  } catch {
    // the seed's validation reports it
  }
  return { text, authority };
}

async function ensureAdmin(store: AuthorityStore, o: ConductorOptions): Promise<void> {
  if ((await store.users()).length > 0) return;
  const given = o.adminPassword ?? process.env['SVR_CONDUCTOR_PASSWORD'];
  const password = given ?? randomBytes(12).toString('base64url');
  await store.putUser(hashPassword('admin', 'admin', password), { user: 'conductor', action: 'user.create', result: 'ok', target: 'admin', detail: 'first start' });
  if (given === undefined) {
    const file = join(o.dataDir, 'admin-password');
    writeFileSync(file, `${password}\n`, { mode: 0o600 });
    o.log('conductor.admin-created', { user: 'admin', passwordFile: file });
  } else {
    o.log('conductor.admin-created', { user: 'admin' });
  }
}
