/**
 * The conductor agent in a managed router (`svr node start --conductor ...`).
 * 1. Start: the last activated config (from the router's store) runs at once, so the router forwards
 *    whether or not a conductor is reachable.
 * 2. The conductorLink machine dials the conductors in turn (mutual TLS with the enrolment certificate);
 *    hello says which version runs; the conductor answers welcome (or redirect to the leader).
 * 3. Configs: only text the conductor's CA signed for this asset and version is looked at; prepare =
 *    validate and compile (the router's own compiler), activate = run it and persist it, sync = both.
 *    Anything else is refused with the reason, and the conductor aborts or marks the router out of sync.
 * 4. Every REPORT_INTERVAL_MS: a report (version, health, peers and paths, sessions, alarms).
 * 5. STEP through the conductor (`stepRepository`): the router's document and subscription go to the
 *    conductor's repository (again on every new channel), the documents it sends come back to STEP.
 * 6. Questions (`query`: sessions, the session history, one session) are answered by the host's views.
 */
import type { KeyObject } from 'node:crypto';
import { createActor, type Actor } from 'xstate';
import { WebSocket } from 'ws';
import { ConfigError, isSvrError } from '../../errors.js';
import type { SvrConfig } from '../../model/config.js';
import type { ConfigProblem } from '../../model/problems.js';
import { conductorLinkMachine } from '../../machines/conductor-link.js';
import { CHANNEL_PATH, REPORT_INTERVAL_MS, parseMessage, type AlarmReport, type ConductorMessage, type RouterMessage, type RouterQuery, type RouterReport } from '../channel/protocol.js';
import { hashText } from '../config/slice.js';
import { caPublicKey, verifyVersion } from '../pki/certificates.js';
import { Mutex } from '../store/kv.js';
import { loadActivated, saveActivated, saveCredentials, type AgentStore, type Credentials } from './credentials.js';
import { validateDocument, type RouterDocument } from '../../step/document.js';
import type { StepRepositoryClient } from '../../step/options.js';

/** What the node gives the agent: check a config, run one, describe itself. */
export interface ManagedHost {
  /** validate and compile `text` as router `router` (throws ConfigError with `data.problems`) */
  check(text: string, router: string): SvrConfig;
  /** run `config` (the first time: start the router; later: apply it, restarting what must restart) */
  activate(config: SvrConfig, router: string, version: number): Promise<void>;
  report(): Omit<RouterReport, 'version'>;
  /** answer a read-only question of the conductor (sessions); a host without it answers none */
  query?(q: RouterQuery): Promise<unknown>;
}

type Log = (event: string, fields: Record<string, string | number | boolean>) => void;

const PING_MS = 5000;

export class ConductorAgent {
  #link: Actor<typeof conductorLinkMachine> | undefined;
  #ws: WebSocket | undefined;
  #welcomed = false;
  #redirect: string | undefined;
  #version: number | null = null;
  #hash: string | null = null;
  #router: string | null = null;
  readonly #prepared = new Map<string, { version: number; config: SvrConfig; text: string; signature: string }>();
  readonly #lock = new Mutex();
  readonly #alarms = new Map<string, AlarmReport>();
  #timers: NodeJS.Timeout[] = [];
  #stopped = false;
  /** STEP through the conductor: the last document and subscription (sent again on every new channel) */
  #stepDoc: RouterDocument | undefined;
  #stepServices: string[] | undefined;
  #stepListener: { onDocument: (doc: RouterDocument) => void; onForget: (router: string) => void } | undefined;

  /** The conductor's STEP repository, for a router whose config says `step: { mode: conductor }`. */
  readonly stepRepository: StepRepositoryClient = {
    publish: (doc) => {
      this.#stepDoc = doc;
      this.#send({ type: 'step.publish', doc });
    },
    subscribe: (services) => {
      this.#stepServices = [...services];
      this.#send({ type: 'step.subscribe', services: [...services] });
    },
    listen: (onDocument, onForget) => {
      const listener = { onDocument, onForget };
      this.#stepListener = listener;
      return () => {
        if (this.#stepListener === listener) this.#stepListener = undefined;
      };
    },
  };

  constructor(private readonly store: AgentStore, private creds: Credentials, private readonly host: ManagedHost, private readonly log: Log) {}

  #caPublicKey: KeyObject | undefined;

  /** The authority CA's public key, parsed once (every config is checked against it). */
  #caKey(): KeyObject {
    this.#caPublicKey ??= caPublicKey(this.creds.caPem);
    return this.#caPublicKey;
  }

  get version(): number | null {
    return this.#version;
  }

  get router(): string | null {
    return this.#router;
  }

  get connected(): boolean {
    return this.#welcomed;
  }

  /** Runs the last activated config (if any), then connects. */
  async start(): Promise<void> {
    const last = await loadActivated(this.store);
    if (last !== undefined) {
      if (!verifyVersion(this.#caKey(), this.creds.assetId, last.version, last.text, last.signature)) {
        this.log('config.unsigned', { version: last.version, source: 'state store' });
      } else {
        try {
          await this.host.activate(this.host.check(last.text, last.router), last.router, last.version);
          this.#version = last.version;
          this.#hash = last.hash;
          this.#router = last.router;
          this.log('config.restored', { version: last.version, router: last.router });
        } catch (e) {
          this.log('config.restore-failed', { version: last.version, error: e instanceof Error ? e.message : String(e) });
        }
      }
    }
    this.#link = createActor(conductorLinkMachine.provide({
      actions: {
        dial: (_, { url }) => this.#dial(url),
        report: (_, p) => {
          if (p.state === 'disconnected') this.log('conductor.disconnected', p.message === '' ? {} : { reason: p.message });
        },
      },
    }), { input: { conductors: this.creds.conductors } });
    this.#link.start();
    this.#timers.push(setInterval(() => this.#send({ type: 'report', report: { version: this.#version, ...this.#report() } }), REPORT_INTERVAL_MS));
  }

  #report(): Omit<RouterReport, 'version'> {
    const r = this.host.report();
    return { ...r, alarms: [...r.alarms, ...this.#alarms.values()] };
  }

  #dial(url: string): void {
    if (this.#stopped) return;
    this.#welcomed = false;
    this.#redirect = undefined;
    const ws = new WebSocket(`${url.replace(/^https:/, 'wss:').replace(/\/$/, '')}${CHANNEL_PATH}`, {
      ca: this.creds.caPem, key: this.creds.keyPem, cert: this.creds.certPem, handshakeTimeout: 5000,
    });
    this.#ws = ws;
    let alive = true;
    const ping = setInterval(() => {
      if (ws.readyState !== WebSocket.OPEN) return; // still connecting (handshakeTimeout ends that) or closing
      if (!alive) {
        ws.terminate();
        return;
      }
      alive = false;
      ws.ping();
    }, PING_MS);
    ws.on('pong', () => (alive = true));
    ws.on('open', () => {
      this.log('conductor.dialled', { url });
      this.#send({ type: 'hello', assetId: this.creds.assetId, version: this.#version, hash: this.#hash });
    });
    ws.on('message', (data) => {
      const m = parseMessage<ConductorMessage>(data);
      if (m !== undefined) void this.#handle(m, url);
    });
    ws.on('error', (e) => this.log('conductor.channel-error', { url, error: e.message }));
    ws.on('close', (code, reason) => {
      clearInterval(ping);
      if (this.#ws === ws) this.#ws = undefined;
      if (this.#stopped) return;
      const why = `${code}${reason.length > 0 ? ` ${reason.toString()}` : ''}`;
      if (this.#welcomed) this.#link?.send({ type: 'channel.closed', message: `channel closed (${why})` });
      else if (this.#redirect !== undefined) this.#link?.send({ type: 'channel.redirected', leader: this.#redirect });
      else this.#link?.send({ type: 'channel.failed', message: `${url}: ${why}` });
      this.#welcomed = false;
    });
  }

  #send(m: RouterMessage): void {
    if (this.#ws?.readyState === WebSocket.OPEN) this.#ws.send(JSON.stringify(m));
  }

  async #handle(m: ConductorMessage, url: string): Promise<void> {
    switch (m.type) {
      case 'redirect':
        this.#redirect = m.leader;
        this.log('conductor.redirected', { from: url, leader: m.leader || 'none elected' });
        return;
      case 'welcome': {
        this.#welcomed = true;
        if (m.router !== null) this.#router = m.router;
        const conductors = [...new Set([...this.creds.conductors, ...m.conductors])];
        if (conductors.length !== this.creds.conductors.length) {
          this.creds = { ...this.creds, conductors };
          await saveCredentials(this.store, this.creds);
        }
        this.log('conductor.connected', { url, router: m.router ?? 'unassigned', version: this.#version ?? 'none' });
        this.#link?.send({ type: 'channel.opened' });
        // a new channel (a restarted conductor, a new leader) knows nothing of our STEP state yet
        if (this.#stepDoc !== undefined) this.#send({ type: 'step.publish', doc: this.#stepDoc });
        if (this.#stepServices !== undefined) this.#send({ type: 'step.subscribe', services: this.#stepServices });
        return;
      }
      case 'step.document': {
        const checked = validateDocument(m.doc);
        if (checked.ok) this.#stepListener?.onDocument(checked.doc);
        else this.log('step.bad-document', { from: url, problem: checked.problem });
        return;
      }
      case 'step.forget':
        if (typeof m.router === 'string') this.#stepListener?.onForget(m.router);
        return;
      case 'prepare':
        return this.#lock.run(async () => {
          const checked = this.#check(m.config, m.version, m.signature);
          if ('problems' in checked) return this.#send({ type: 'refused', txn: m.txn, version: m.version, ...checked });
          this.#prepared.set(m.txn, { version: m.version, config: checked.config, text: m.config, signature: m.signature });
          this.log('config.prepared', { version: m.version });
          this.#send({ type: 'prepared', txn: m.txn, version: m.version });
        });
      case 'activate':
        return this.#lock.run(async () => {
          const p = this.#prepared.get(m.txn);
          this.#prepared.delete(m.txn);
          if (p === undefined) {
            this.log('config.activate-unknown', { version: m.version });
            return;
          }
          await this.#activate(p.config, p.text, p.signature, p.version, m.txn);
        });
      case 'abort':
        this.#prepared.delete(m.txn);
        this.log('config.aborted', { version: m.version });
        return;
      case 'query':
        return this.#answer(m.id, m.query);
      case 'sync':
        return this.#lock.run(async () => {
          const checked = this.#check(m.config, m.version, m.signature);
          if ('problems' in checked) return this.#send({ type: 'refused', txn: null, version: m.version, ...checked });
          await this.#activate(checked.config, m.config, m.signature, m.version, null);
        });
    }
  }

  /** Answers a question of the conductor (not under the config lock: a commit does not hold it up). */
  async #answer(id: number, q: RouterQuery): Promise<void> {
    try {
      if (this.host.query === undefined) throw new Error('this router answers no questions');
      this.#send({ type: 'answer', id, result: await this.host.query(q) });
    } catch (e) {
      this.#send({ type: 'answer', id, error: { code: isSvrError(e) ? e.code : 'SVR_ERR_CONTROL_REQUEST', message: e instanceof Error ? e.message : String(e) } });
    }
  }

  /** The config if it is signed for us and valid; else the reason. */
  #check(text: string, version: number, signature: string): { config: SvrConfig } | { message: string; problems: ConfigProblem[] } {
    if (!verifyVersion(this.#caKey(), this.creds.assetId, version, text, signature)) {
      const message = `version ${version} is not signed by this router's conductor (asset ${this.creds.assetId}): refused`;
      this.log('config.unsigned', { version });
      this.#alarms.set('config-unsigned', { id: 'config-unsigned', severity: 'critical', message, since: new Date().toISOString() });
      return { message, problems: [] };
    }
    const router = this.#router;
    if (router === null) return { message: 'this asset is no router of the authority yet', problems: [] };
    try {
      return { config: this.host.check(text, router) };
    } catch (e) {
      const problems = e instanceof ConfigError ? e.data.problems : [];
      const message = e instanceof Error ? e.message : String(e);
      this.log('config.refused', { version, reason: message.split('\n')[0]! });
      return { message, problems };
    }
  }

  async #activate(config: SvrConfig, text: string, signature: string, version: number, txn: string | null): Promise<void> {
    const router = this.#router!;
    try {
      await this.host.activate(config, router, version);
    } catch (e) {
      const message = e instanceof Error ? e.message : String(e);
      this.log('config.activate-failed', { version, error: message });
      this.#send({ type: 'refused', txn: null, version, message: `activation failed: ${message}`, problems: [] });
      return;
    }
    const hash = hashText(text);
    await saveActivated(this.store, { version, router, text, signature, hash, activatedAt: new Date().toISOString() });
    this.#version = version;
    this.#hash = hash;
    this.#alarms.delete('config-unsigned');
    this.log('config.activated', { version, router, ...(txn === null ? { sync: true } : {}) });
    this.#send({ type: 'activated', version, hash });
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    for (const t of this.#timers) clearInterval(t);
    this.#link?.stop();
    this.#ws?.close(1001, 'router stopping');
    await this.#lock.run(async () => undefined);
  }
}
