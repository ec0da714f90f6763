/**
 * The config lifecycle (ssr-reference §1.1 candidate/commit/validate, §1.12): one candidate; validate;
 * commit in two phases over every connected router; versions with author, time, message and diff;
 * compare; rollback (a new commit of an old version); export/import. Every change is an audit event.
 *
 * commit(basedOn):
 * 1. the head must still be `basedOn` and the candidate derived from the head, else SVR_ERR_CONDUCTOR_CONFLICT;
 * 2. generate adjacencies, validate with field paths, build and check every router's slice;
 * 3. prepare on every synchronized router; a refusal aborts everywhere (SVR_ERR_CONDUCTOR_ROUTER_REFUSED);
 * 4. store the version, the new candidate and the audit event in one transaction (a lost race: conflict);
 * 5. activate where prepared; everyone else is pushed the version by its router-sync actor.
 * Commits in one conductor run one at a time; across conductors the store's transaction decides.
 */
import { ConfigError, SvrError, isSvrError } from '../errors.js';
import type { ConfigProblem } from '../model/problems.js';
import { unifiedDiff } from './config/diff.js';
import { deletePath, getPath, parseCandidate, setPath } from './config/edit.js';
import { withGeneratedConfig } from './config/generate.js';
import { routerSlices, type RouterSlice } from './config/slice.js';
import { Fleet } from './fleet.js';
import { Mutex } from './store/kv.js';
import type { AuthorityStore, CandidateRecord, VersionRecord, VersionSummary } from './store/authority-store.js';

export interface CandidateView {
  text: string;
  base: number;
  revision: number;
  /** the candidate differs from the running (head) config */
  changed: boolean;
  updatedBy: string;
  updatedAt: string;
}

export interface ValidateResult {
  valid: boolean;
  problems: ConfigProblem[];
  message: string;
  /** routers whose slices were built and compiled */
  routers: string[];
  /** the candidate with generated adjacencies, when valid */
  generated?: string;
}

export interface CommitResult {
  version: number;
  diff: string;
  /** each router's status after the commit */
  routers: Record<string, string>;
}

/** A version by number, or `running` (the head) or `candidate`. */
export type ConfigRef = number | 'running' | 'candidate';

export class Lifecycle {
  readonly #lock = new Mutex();

  constructor(private readonly store: AuthorityStore, private readonly fleet: Fleet) {}

  /** The head's text and its slices (for the fleet at start); undefined before the first commit. */
  async headSlices(): Promise<{ version: number; slices: Map<string, RouterSlice> } | undefined> {
    const head = await this.store.head();
    if (head === 0) return undefined;
    const record = await this.#version(head);
    return { version: head, slices: routerSlices(withGeneratedConfig(record.text, `version ${head}`).config) };
  }

  async candidate(): Promise<CandidateView> {
    const head = await this.store.head();
    const running = head === 0 ? '' : (await this.#version(head)).text;
    const c = (await this.store.candidate())?.record ?? { text: running, base: head, revision: 0, updatedBy: '', updatedAt: '' };
    return { ...c, changed: c.text !== running };
  }

  /** Replaces the candidate (edit, import). The text must be YAML; its validity is checked by validate/commit. */
  async replaceCandidate(text: string, user: string, action = 'config.candidate.replace', expectedRevision?: number): Promise<CandidateView> {
    parseCandidate(text);
    return this.#changeCandidate(user, action, 'authority', expectedRevision, () => text);
  }

  async setPath(path: string, value: unknown, user: string): Promise<CandidateView> {
    return this.#changeCandidate(user, 'config.candidate.set', path, undefined, (t) => setPath(t, path, value));
  }

  async deletePath(path: string, user: string): Promise<CandidateView> {
    return this.#changeCandidate(user, 'config.candidate.delete', path, undefined, (t) => deletePath(t, path));
  }

  async getPath(path: string, which: ConfigRef = 'candidate'): Promise<unknown> {
    return getPath(await this.export(which), path);
  }

  /** Discard candidate edits: the candidate becomes the running config again. */
  async revertCandidate(user: string): Promise<CandidateView> {
    const head = await this.store.head();
    const running = head === 0 ? '' : (await this.#version(head)).text;
    return this.#changeCandidate(user, 'config.candidate.revert', 'authority', undefined, () => running, head);
  }

  async #changeCandidate(user: string, action: string, target: string, expectedRevision: number | undefined, change: (text: string) => string, base?: number): Promise<CandidateView> {
    for (let attempt = 0; attempt < 10; attempt++) {
      const head = await this.store.head();
      const current = await this.store.candidate();
      const running = head === 0 ? '' : (await this.#version(head)).text;
      const record = current?.record ?? { text: running, base: head, revision: 0, updatedBy: '', updatedAt: '' };
      if (expectedRevision !== undefined && record.revision !== expectedRevision) {
        throw new SvrError('SVR_ERR_CONDUCTOR_CONFLICT', `the candidate changed meanwhile (revision ${record.revision}, by ${record.updatedBy}); your edit was based on revision ${expectedRevision}: fetch it again and re-apply`, { revision: record.revision, basedOn: expectedRevision });
      }
      const text = change(record.text);
      const next: CandidateRecord = { text, base: base ?? record.base, revision: record.revision + 1, updatedBy: user, updatedAt: new Date().toISOString() };
      const diff = unifiedDiff(record.text, text, 'candidate', 'candidate');
      if (await this.store.putCandidate(next, current?.rev ?? 0, { user, action, target, result: 'ok', diff })) {
        return { ...next, changed: text !== running };
      }
    }
    throw new SvrError('SVR_ERR_CONDUCTOR_CONFLICT', 'the candidate is being changed by others too often; try again');
  }

  /** Validates the candidate (or any text) as a commit would, without committing: field paths, then every router's slice. */
  async validate(text?: string): Promise<ValidateResult> {
    const source = text ?? (await this.candidate()).text;
    try {
      const { text: generated, config } = withGeneratedConfig(source);
      const slices = routerSlices(config);
      return { valid: true, problems: [], message: `valid: ${slices.size} router slice${slices.size === 1 ? '' : 's'} compiled`, routers: [...slices.keys()], generated };
    } catch (e) {
      if (!isSvrError(e)) throw e;
      const problems = e instanceof ConfigError ? e.data.problems : [];
      return { valid: false, problems, message: e.message, routers: [] };
    }
  }

  commit(user: string, message: string, basedOn?: number): Promise<CommitResult> {
    return this.#lock.run(async () => {
      const head = await this.store.head();
      const candidate = await this.candidate();
      if (basedOn !== undefined && basedOn !== head) throw await this.#conflict(basedOn, head);
      if (candidate.base !== head) throw await this.#conflict(candidate.base, head, 'the candidate was');
      return this.#commitText(user, message, candidate.text, head, candidate.revision);
    });
  }

  /**
   * A new version with the config of `version`. A candidate without edits follows it; one with edits is
   * left alone (its next commit conflicts, so nobody's edits are lost silently).
   */
  rollback(version: number, user: string, message?: string, basedOn?: number): Promise<CommitResult> {
    return this.#lock.run(async () => {
      const head = await this.store.head();
      if (basedOn !== undefined && basedOn !== head) throw await this.#conflict(basedOn, head);
      const target = await this.#version(version);
      const candidate = await this.candidate();
      const revision = candidate.changed ? undefined : candidate.revision;
      return this.#commitText(user, message ?? `rollback to version ${version}`, target.text, head, revision, version);
    });
  }

  /** `revision`: the candidate's, when the commit replaces the candidate (undefined: the candidate stays). */
  async #commitText(user: string, message: string, text: string, head: number, revision: number | undefined, rollbackOf?: number): Promise<CommitResult> {
    const action = rollbackOf === undefined ? 'config.commit' : 'config.rollback';
    const refuse = async (e: SvrError): Promise<never> => {
      await this.store.audit({ user, action, result: 'refused', target: `version ${head + 1}`, detail: e.message });
      throw e;
    };
    let generated: string;
    let slices: Map<string, RouterSlice>;
    try {
      const g = withGeneratedConfig(text);
      generated = g.text;
      slices = routerSlices(g.config);
    } catch (e) {
      if (isSvrError(e)) return refuse(e);
      throw e;
    }
    const running = head === 0 ? '' : (await this.#version(head)).text;
    if (generated === running) return refuse(new SvrError('SVR_ERR_CONDUCTOR_NO_CHANGE', `nothing to commit: the config is the same as version ${head} (running)`));
    const version = head + 1;
    const txn = Fleet.newTxn();
    const outcome = await this.fleet.prepare(txn, version, slices);
    if (outcome.refused !== undefined) {
      this.fleet.abort(txn, version, outcome.prepared);
      const r = outcome.refused;
      const where = r.problems.map((p) => `\n  ${p.path}: ${p.message}`).join('');
      return refuse(new SvrError('SVR_ERR_CONDUCTOR_ROUTER_REFUSED', `router ${r.router} refused version ${version}, so no router activated it: ${r.message}${where}`, { router: r.router, errors: r.problems }));
    }
    const diff = unifiedDiff(running, generated, `version ${head}`, `version ${version}`);
    const record: VersionRecord = { version, time: new Date().toISOString(), author: user, message, text: generated, diff };
    if (rollbackOf !== undefined) record.rollbackOf = rollbackOf;
    const nextCandidate: CandidateRecord | undefined = revision === undefined ? undefined : { text: generated, base: version, revision: revision + 1, updatedBy: user, updatedAt: record.time };
    const event = await this.store.commit(record, nextCandidate, { user, action, result: 'ok', target: `version ${version}`, detail: message, diff });
    if (event === undefined) {
      this.fleet.abort(txn, version, outcome.prepared);
      throw await this.#conflict(head, await this.store.head());
    }
    const routers = await this.fleet.activate(txn, version, outcome.prepared, slices);
    return { version, diff, routers };
  }

  async #conflict(basedOn: number, head: number, what = 'this change was'): Promise<SvrError> {
    const by = head === 0 ? undefined : await this.store.version(head);
    const who = by === undefined ? '' : ` (by ${by.author} at ${by.time}: ${by.message})`;
    return new SvrError('SVR_ERR_CONDUCTOR_CONFLICT', `${what} based on version ${basedOn}, but version ${head} is running now${who}; see \`svr config compare ${basedOn} ${head}\`, then make the change again on top of it`, { basedOn, head });
  }

  async versions(): Promise<VersionSummary[]> {
    return this.store.versions();
  }

  async version(n: number): Promise<VersionRecord> {
    return this.#version(n);
  }

  async #version(n: number): Promise<VersionRecord> {
    const v = await this.store.version(n);
    if (v === undefined) throw new SvrError('SVR_ERR_CONDUCTOR_NOT_FOUND', `there is no version ${n} (head: ${await this.store.head()}); see svr config versions`);
    return v;
  }

  /** The text of a version, the running config or the candidate. */
  async export(which: ConfigRef): Promise<string> {
    if (which === 'candidate') return (await this.candidate()).text;
    const n = which === 'running' ? await this.store.head() : which;
    if (n === 0) return '';
    return (await this.#version(n)).text;
  }

  async compare(a: ConfigRef, b: ConfigRef): Promise<string> {
    const name = (r: ConfigRef) => (typeof r === 'number' ? `version ${r}` : r);
    return unifiedDiff(await this.export(a), await this.export(b), name(a), name(b));
  }

  /** The first version: a config file given to `svr conductor start` when the store has none. */
  async seed(text: string, source: string): Promise<CommitResult | undefined> {
    if ((await this.store.head()) !== 0) return undefined;
    await this.replaceCandidate(text, 'conductor', 'config.candidate.import');
    return this.commit('conductor', `initial config from ${source}`, 0);
  }
}
