/**
 * The managed routers as the leading conductor sees them: one routerSync actor per router of the head
 * config, the router's channel when it is connected, its last report.
 *
 * 1. A channel (mutual TLS, checked by the API) says hello: the asset is matched to its router; the actor
 *    decides whether the router is at the head or is pushed it (`sync`). An enrolled asset that no router
 *    of the config names waits, unassigned, until a commit names it.
 * 2. A commit (lifecycle.ts) asks every synchronized, connected router to prepare the new version;
 *    all prepared: the version is stored, then activated everywhere; one refusal: aborted everywhere.
 *    Routers that were not part of it (offline, behind) are pushed the head by their actor.
 * 3. Every config sent is signed by the CA for the router's asset id and version.
 */
import { randomUUID } from 'node:crypto';
import { createActor, type Actor } from 'xstate';
import type { ConfigProblem } from '../model/problems.js';
import { routerSyncMachine, SYNC_STATUS } from '../machines/router-sync.js';
import { reportedAlarm, type Alarms } from './alarms.js';
import type { FabricEvents } from './events.js';
import type { ConductorMessage, RouterMessage, RouterReport } from './channel/protocol.js';
import type { RouterSlice } from './config/slice.js';
import type { AuthorityStore } from './store/authority-store.js';
import { StepRepository } from './step-repository.js';

export interface RouterChannel {
  readonly assetId: string;
  /** the router's address as the conductor sees it */
  readonly remote: string;
  send(m: ConductorMessage): void;
  close(code: number, reason: string): void;
}

export interface RouterStatus {
  router: string;
  assetId: string;
  status: string;
  connected: boolean;
  /** version the router runs (as it reported) */
  version: number | null;
  head: number;
  lastSeen: string | null;
  address: string | null;
  report: RouterReport | null;
  lastError: string | null;
}

export interface AssetStatus {
  assetId: string;
  router: string | null;
  enrolledAt: string;
  status: string;
  connected: boolean;
  address: string | null;
}

export interface PrepareOutcome {
  prepared: string[];
  refused?: { router: string; message: string; problems: ConfigProblem[] };
}

export interface FleetDeps {
  store: AuthorityStore;
  alarms: Alarms;
  /** the CA's signature over (asset id, version, config text) */
  sign: (assetId: string, version: number, text: string) => string;
  /** every conductor URL (routers are told, so they can follow the leader) */
  conductors: () => string[];
  log: (event: string, fields: Record<string, string | number | boolean>) => void;
  /** router state changes, reports and reported alarms for live views */
  events?: FabricEvents;
}

interface Managed {
  router: string;
  assetId: string;
  actor: Actor<typeof routerSyncMachine>;
  channel: RouterChannel | undefined;
  lastSeen: string | null;
  report: RouterReport | null;
  /** the state last announced to live views */
  announced: string;
}

type Answer = { kind: 'prepared' } | { kind: 'refused'; message: string; problems: ConfigProblem[] } | { kind: 'gone' };

export const PREPARE_TIMEOUT_MS = 10_000;
/** How often expired STEP documents are dropped. */
const STEP_EXPIRY_CHECK_MS = 10_000;
export const ACTIVATE_WAIT_MS = 5_000;

export class Fleet {
  readonly #managed = new Map<string, Managed>();
  /** channels of enrolled assets no router of the head names */
  readonly #unassigned = new Map<string, { channel: RouterChannel; version: number | null }>();
  readonly #answers = new Map<string, (a: Answer) => void>();
  readonly #activations = new Map<string, Array<(version: number) => void>>();
  #head = 0;
  #slices = new Map<string, RouterSlice>();
  /** STEP documents of routers in `step: { mode: conductor }` (step-repository.ts) */
  readonly step: StepRepository;
  readonly #expiry: NodeJS.Timeout;

  constructor(private readonly deps: FleetDeps) {
    this.step = new StepRepository(() => [...this.#slices.values()][0]?.authority ?? '', deps.log);
    this.#expiry = setInterval(() => this.step.expire(), STEP_EXPIRY_CHECK_MS);
    this.#expiry.unref();
  }

  get head(): number {
    return this.#head;
  }

  /**
   * A new head (at start, and after each commit). `activating`: the routers this commit activates itself;
   * every other router's actor hears of the version and pushes it when it can.
   */
  setHead(version: number, slices: Map<string, RouterSlice>, activating: ReadonlySet<string> = new Set(), known: ReadonlyMap<string, number | null> = new Map()): void {
    this.#head = version;
    this.#slices = slices;
    for (const [name, m] of this.#managed) {
      if (!slices.has(name) || slices.get(name)!.assetId !== m.assetId) {
        m.actor.stop();
        this.#managed.delete(name);
        if (m.channel !== undefined) this.#unassigned.set(m.assetId, { channel: m.channel, version: m.actor.getSnapshot().context.running });
      }
    }
    for (const [name, slice] of slices) {
      const m = this.#managed.get(name);
      if (m !== undefined) {
        m.actor.send({ type: 'version.committed', version, activating: activating.has(name) });
        continue;
      }
      const managed = this.#manage(name, slice.assetId, version, known.get(slice.assetId) ?? null);
      const waiting = this.#unassigned.get(slice.assetId);
      if (waiting !== undefined) {
        this.#unassigned.delete(slice.assetId);
        this.#connect(managed, waiting.channel, waiting.version);
      }
    }
  }

  #manage(router: string, assetId: string, head: number, running: number | null): Managed {
    const m: Managed = { router, assetId, actor: undefined as unknown as Managed['actor'], channel: undefined, lastSeen: null, report: null, announced: '' };
    m.actor = createActor(routerSyncMachine.provide({
      actions: {
        pushVersion: () => this.#push(m),
        raiseAlarm: (_, p) => {
          this.deps.alarms.raise(p.router, p.alarm, p.alarm === 'refused' ? 'critical' : 'major', p.message);
          this.deps.log('alarm.raised', { router: p.router, alarm: p.alarm, message: p.message });
        },
        clearAlarm: (_, p) => {
          if (this.deps.alarms.clear(p.router, p.alarm)) this.deps.log('alarm.cleared', { router: p.router, alarm: p.alarm });
        },
      },
    }), { input: { router, assetId, head, running } });
    let last = '';
    let lastState = '';
    m.actor.subscribe((s) => {
      const status = SYNC_STATUS[s.value as string] ?? String(s.value);
      if (status !== last) this.deps.log('router.status', { router, status, version: s.context.running ?? 'none', head: s.context.head });
      last = status;
      const state = `${status}/${s.context.running}/${s.context.head}`;
      if (state !== lastState && this.#managed.get(router) === m) this.#changed(m);
      lastState = state;
    });
    m.actor.start();
    this.#managed.set(router, m);
    return m;
  }

  /** A verified channel said hello. */
  attach(channel: RouterChannel, version: number | null, hash: string | null): void {
    const m = [...this.#managed.values()].find((x) => x.assetId === channel.assetId);
    // a router at the head version but with other content (the conductor's store was replaced) is behind
    const slice = m === undefined ? undefined : this.#slices.get(m.router);
    const running = version !== null && version === this.#head && slice !== undefined && hash !== slice.hash ? null : version;
    if (m === undefined) {
      const old = this.#unassigned.get(channel.assetId);
      old?.channel.close(4409, 'replaced by a newer channel of the same asset');
      this.#unassigned.set(channel.assetId, { channel, version: running });
      channel.send({ type: 'welcome', router: null, conductors: this.deps.conductors() });
      this.deps.log('asset.unassigned', { asset: channel.assetId, address: channel.remote });
      return;
    }
    this.#connect(m, channel, running);
  }

  #connect(m: Managed, channel: RouterChannel, running: number | null): void {
    if (m.channel !== undefined && m.channel !== channel) {
      const old = m.channel;
      m.channel = undefined;
      m.actor.send({ type: 'channel.closed' });
      old.close(4409, 'replaced by a newer channel of the same asset');
    }
    m.channel = channel;
    m.lastSeen = new Date().toISOString();
    channel.send({ type: 'welcome', router: m.router, conductors: this.deps.conductors() });
    m.actor.send({ type: 'channel.opened' });
    m.actor.send({ type: 'router.hello', running });
    this.#changed(m);
  }

  /** A router's state changed (for live views; once per change of status, channel or version). */
  #changed(m: Managed): void {
    const s = this.#status(m);
    const key = `${s.status}/${s.connected}/${s.version}/${s.head}/${s.address}`;
    if (key === m.announced) return;
    m.announced = key;
    this.deps.events?.emit({ type: 'router', router: s });
  }

  /** A report arrived: live views get it, and the alarms that appeared or went away since the last one. */
  #reported(m: Managed, report: RouterReport): void {
    const events = this.deps.events;
    const before = m.report?.alarms ?? [];
    m.report = report;
    if (events === undefined) return;
    const at = new Date().toISOString();
    events.emit({ type: 'report', router: m.router, report, at });
    for (const a of report.alarms) if (!before.some((b) => b.id === a.id)) events.emit({ type: 'alarm', change: 'raised', alarm: reportedAlarm(m.router, a), at });
    for (const b of before) if (!report.alarms.some((a) => a.id === b.id)) events.emit({ type: 'alarm', change: 'cleared', alarm: reportedAlarm(m.router, b), at });
  }

  /** A message from an attached channel (hello was handled by attach). */
  message(channel: RouterChannel, msg: RouterMessage): void {
    const m = this.#byChannel(channel);
    if (m === undefined) {
      const u = this.#unassigned.get(channel.assetId);
      if (u !== undefined && msg.type === 'report') u.version = msg.report.version;
      return;
    }
    m.lastSeen = new Date().toISOString();
    switch (msg.type) {
      case 'prepared':
        this.#answers.get(`${msg.txn}/${m.router}`)?.({ kind: 'prepared' });
        return;
      case 'refused':
        if (msg.txn !== null) this.#answers.get(`${msg.txn}/${m.router}`)?.({ kind: 'refused', message: msg.message, problems: msg.problems });
        else m.actor.send({ type: 'router.refused', version: msg.version, message: msg.message });
        return;
      case 'activated':
        m.actor.send({ type: 'router.activated', version: msg.version });
        for (const done of this.#activations.get(m.router) ?? []) done(msg.version);
        void this.deps.store.asset(m.assetId).then((a) => a === undefined ? undefined : this.deps.store.putAsset({ ...a, version: msg.version, lastSeen: m.lastSeen ?? undefined })).catch(() => undefined);
        return;
      case 'report':
        this.#reported(m, msg.report);
        return;
      case 'step.publish':
        this.step.publish(m.router, msg.doc);
        return;
      case 'step.subscribe':
        this.step.subscribe(m.router, Array.isArray(msg.services) ? msg.services : [], channel);
        return;
      case 'hello':
        return;
    }
  }

  detach(channel: RouterChannel): void {
    const u = this.#unassigned.get(channel.assetId);
    if (u?.channel === channel) this.#unassigned.delete(channel.assetId);
    const m = this.#byChannel(channel);
    if (m === undefined) return;
    m.channel = undefined;
    m.actor.send({ type: 'channel.closed' });
    for (const [key, answer] of this.#answers) if (key.endsWith(`/${m.router}`)) answer({ kind: 'gone' });
    this.step.unsubscribe(m.router, channel);
    this.#changed(m);
  }

  #byChannel(channel: RouterChannel): Managed | undefined {
    return [...this.#managed.values()].find((x) => x.channel === channel);
  }

  #push(m: Managed): void {
    const slice = this.#slices.get(m.router);
    if (m.channel === undefined || slice === undefined) return;
    m.channel.send({ type: 'sync', version: this.#head, config: slice.text, signature: this.deps.sign(m.assetId, this.#head, slice.text) });
  }

  /**
   * Phase one: every router that is synchronized and connected validates `version` (its slice). Resolves
   * with those that prepared, or the first refusal (a router that does not answer in time refuses).
   */
  async prepare(txn: string, version: number, slices: ReadonlyMap<string, RouterSlice>, timeoutMs = PREPARE_TIMEOUT_MS): Promise<PrepareOutcome> {
    const asked = [...this.#managed.values()].filter((m) => m.channel !== undefined && m.actor.getSnapshot().value === 'synchronized' && slices.has(m.router));
    const answers = await Promise.all(asked.map((m) => new Promise<[Managed, Answer]>((resolve) => {
      const key = `${txn}/${m.router}`;
      const timer = setTimeout(() => done({ kind: 'refused', message: `no answer within ${timeoutMs / 1000} s`, problems: [] }), timeoutMs);
      const done = (a: Answer) => {
        clearTimeout(timer);
        this.#answers.delete(key);
        resolve([m, a]);
      };
      this.#answers.set(key, done);
      const slice = slices.get(m.router)!;
      m.channel!.send({ type: 'prepare', txn, version, config: slice.text, signature: this.deps.sign(m.assetId, version, slice.text) });
    })));
    const refused = answers.find(([, a]) => a.kind === 'refused');
    const prepared = answers.filter(([, a]) => a.kind === 'prepared').map(([m]) => m.router);
    if (refused !== undefined && refused[1].kind === 'refused') return { prepared, refused: { router: refused[0].router, message: refused[1].message, problems: refused[1].problems } };
    return { prepared };
  }

  abort(txn: string, version: number, prepared: readonly string[]): void {
    for (const name of prepared) this.#managed.get(name)?.channel?.send({ type: 'abort', txn, version });
  }

  /** Phase two, after the version is stored: activate where prepared; resolves when they all report it (or after `waitMs`). */
  async activate(txn: string, version: number, prepared: readonly string[], slices: Map<string, RouterSlice>, waitMs = ACTIVATE_WAIT_MS): Promise<Record<string, string>> {
    const activated = Promise.all(prepared.map((name) => new Promise<void>((resolve) => {
      const list = this.#activations.get(name) ?? [];
      const timer = setTimeout(() => resolve(), waitMs);
      list.push((v) => {
        if (v >= version) {
          clearTimeout(timer);
          resolve();
        }
      });
      this.#activations.set(name, list);
    })));
    for (const name of prepared) this.#managed.get(name)?.channel?.send({ type: 'activate', txn, version });
    this.setHead(version, slices, new Set(prepared));
    await activated;
    for (const name of prepared) this.#activations.delete(name);
    return Object.fromEntries(this.routers().map((r) => [r.router, r.status]));
  }

  routers(): RouterStatus[] {
    return [...this.#managed.values()].map((m) => this.#status(m));
  }

  /** One router's status, undefined when the head config has no router of that name. */
  router(name: string): RouterStatus | undefined {
    const m = this.#managed.get(name);
    return m === undefined ? undefined : this.#status(m);
  }

  #status(m: Managed): RouterStatus {
    const s = m.actor.getSnapshot();
    return {
      router: m.router,
      assetId: m.assetId,
      status: SYNC_STATUS[s.value as string] ?? String(s.value),
      connected: m.channel !== undefined,
      version: s.context.running,
      head: s.context.head,
      lastSeen: m.lastSeen,
      address: m.channel?.remote ?? null,
      report: m.report,
      lastError: s.context.lastError ?? null,
    };
  }

  /** Enrolled assets with the router each one is (if any) and its channel state. */
  async assets(): Promise<AssetStatus[]> {
    const routers = this.routers();
    return (await this.deps.store.assets()).map((a) => {
      const r = routers.find((x) => x.assetId === a.assetId);
      const u = this.#unassigned.get(a.assetId);
      return {
        assetId: a.assetId,
        router: r?.router ?? null,
        enrolledAt: a.enrolledAt,
        status: r?.status ?? (u !== undefined ? 'unassigned (connected)' : 'unassigned'),
        connected: r?.connected ?? u !== undefined,
        address: r?.address ?? u?.channel.remote ?? null,
      };
    });
  }

  /** Close every channel (this conductor stops leading or stops). */
  closeAll(code: number, reason: string): void {
    for (const m of this.#managed.values()) {
      const c = m.channel;
      if (c === undefined) continue;
      this.detach(c);
      c.close(code, reason);
    }
    for (const u of [...this.#unassigned.values()]) u.channel.close(code, reason);
    this.#unassigned.clear();
  }

  stop(): void {
    clearInterval(this.#expiry);
    for (const m of this.#managed.values()) m.actor.stop();
    this.#managed.clear();
  }

  static newTxn(): string {
    return randomUUID();
  }
}
