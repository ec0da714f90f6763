/**
 * Everything a conductor keeps, behind one interface over a Kv (LevelDB or etcd): committed versions
 * and the head, the one candidate, the audit log, enrolled assets, enrolment tokens, the CA, users and
 * the API token key. Every write that changes config goes together with its audit event in one
 * transaction, so a committed version never exists without its event (and the reverse).
 *
 * Keys: head, versions/<n>, candidate, audit-seq, audit/<seq>, assets/<id>, tokens/<id>, ca, users/<name>, jwt-key.
 */
import { SvrError } from '../../errors.js';
import { Mutex, type Kv, type KvCompare, type KvEntry, type KvPut } from './kv.js';

export interface VersionRecord {
  version: number;
  /** ISO time of the commit */
  time: string;
  author: string;
  message: string;
  /** the authority config as committed (YAML, generated adjacencies included) */
  text: string;
  /** unified diff from the previous version ('' for the first) */
  diff: string;
  /** set when this version is a rollback: the version whose config it restored */
  rollbackOf?: number;
}

export type VersionSummary = Omit<VersionRecord, 'text' | 'diff'>;

export interface CandidateRecord {
  text: string;
  /** the version the candidate was derived from */
  base: number;
  /** bumped on every change of the candidate */
  revision: number;
  updatedBy: string;
  updatedAt: string;
}

export type AuditResult = 'ok' | 'refused' | 'failed';

export interface AuditDraft {
  user: string;
  /** what was done: config.commit, config.candidate, config.rollback, token.create, enrol, channel, user.create, login */
  action: string;
  result: AuditResult;
  /** what it was done to: a version, an asset id, a path, a user */
  target?: string;
  detail?: string;
  diff?: string;
  version?: number;
}

export interface AuditEvent extends AuditDraft {
  seq: number;
  time: string;
}

export interface AssetRecord {
  assetId: string;
  enrolledAt: string;
  /** SHA-256 (hex) of the client certificate issued at enrolment: the only certificate accepted for this asset */
  fingerprint: string;
  /** the last version the router reported running */
  version?: number;
  lastSeen?: string;
}

export interface TokenRecord {
  id: string;
  assetId: string;
  /** SHA-256 (hex) of the token's secret part */
  secretHash: string;
  createdAt: string;
  expiresAt: string;
  createdBy: string;
  usedAt?: string;
}

export type Role = 'admin' | 'read-only';

export interface UserRecord {
  name: string;
  role: Role;
  /** scrypt parameters and result, hex */
  salt: string;
  hash: string;
  createdAt: string;
}

export interface CaRecord {
  keyPem: string;
  certPem: string;
}

const pad = (n: number): string => String(n).padStart(12, '0');
const VERSION_PREFIX = 'versions/';
const AUDIT_PREFIX = 'audit/';

export class AuthorityStore {
  readonly #auditListeners = new Set<(e: AuditEvent) => void>();
  readonly #appendLock = new Mutex();

  constructor(readonly kv: Kv, readonly kind: 'level' | 'etcd') {}

  /** Calls `fn` with every audit event this conductor stores (committed versions among them); returns the unsubscribe function. */
  onAudit(fn: (e: AuditEvent) => void): () => void {
    this.#auditListeners.add(fn);
    return () => this.#auditListeners.delete(fn);
  }

  // --- versions ---

  async head(): Promise<number> {
    return Number((await this.kv.get('head'))?.value ?? 0);
  }

  async version(n: number): Promise<VersionRecord | undefined> {
    return parse<VersionRecord>(await this.kv.get(`${VERSION_PREFIX}${pad(n)}`));
  }

  async versions(): Promise<VersionSummary[]> {
    return (await this.kv.list(VERSION_PREFIX)).map((e) => {
      const { text: _t, diff: _d, ...summary } = JSON.parse(e.value) as VersionRecord;
      return summary;
    });
  }

  /**
   * Stores `record` as the new head if the head is still `record.version - 1`, with the candidate (if
   * given) and the audit event, all or nothing. False: another commit landed first.
   */
  async commit(record: VersionRecord, candidate: CandidateRecord | undefined, draft: AuditDraft): Promise<AuditEvent | undefined> {
    const head = await this.kv.get('head');
    if (Number(head?.value ?? 0) !== record.version - 1) return undefined;
    const puts: KvPut[] = [{ key: 'head', value: String(record.version) }, { key: `${VERSION_PREFIX}${pad(record.version)}`, value: JSON.stringify(record) }];
    const compares: KvCompare[] = [{ key: 'head', rev: head?.rev ?? 0 }];
    if (candidate !== undefined) {
      const current = await this.kv.get('candidate');
      compares.push({ key: 'candidate', rev: current?.rev ?? 0 });
      puts.push({ key: 'candidate', value: JSON.stringify(candidate) });
    }
    return this.#withAudit(compares, puts, { ...draft, version: record.version });
  }

  // --- candidate ---

  async candidate(): Promise<{ record: CandidateRecord; rev: number } | undefined> {
    const e = await this.kv.get('candidate');
    return e === undefined ? undefined : { record: JSON.parse(e.value) as CandidateRecord, rev: e.rev };
  }

  /** Replaces the candidate if it is still at store revision `rev` (0: none yet). False: someone changed it first. */
  async putCandidate(next: CandidateRecord, rev: number, draft: AuditDraft): Promise<AuditEvent | undefined> {
    return this.#withAudit([{ key: 'candidate', rev }], [{ key: 'candidate', value: JSON.stringify(next) }], draft);
  }

  // --- audit ---

  audit(draft: AuditDraft): Promise<AuditEvent> {
    return this.#withAudit([], [], draft).then((e) => {
      if (e === undefined) throw new SvrError('SVR_ERR_CONDUCTOR_STORE', 'an audit event could not be stored');
      return e;
    });
  }

  /** Events after `afterSeq` (oldest first), or the newest `limit` when `newest` is set. */
  async auditLog(opts: { afterSeq?: number; limit?: number; newest?: boolean } = {}): Promise<AuditEvent[]> {
    const entries = opts.newest === true
      ? (await this.kv.list(AUDIT_PREFIX, { reverse: true, limit: opts.limit ?? 100 })).reverse()
      : await this.kv.list(AUDIT_PREFIX, { after: `${AUDIT_PREFIX}${pad(opts.afterSeq ?? 0)}`, limit: opts.limit ?? 1000 });
    return entries.map((e) => JSON.parse(e.value) as AuditEvent);
  }

  // --- assets, tokens, users, keys ---

  async asset(id: string): Promise<AssetRecord | undefined> {
    return parse<AssetRecord>(await this.kv.get(`assets/${id}`));
  }

  async assets(): Promise<AssetRecord[]> {
    return (await this.kv.list('assets/')).map((e) => JSON.parse(e.value) as AssetRecord);
  }

  async putAsset(a: AssetRecord): Promise<void> {
    await this.kv.txn([], [{ key: `assets/${a.assetId}`, value: JSON.stringify(a) }]);
  }

  async token(id: string): Promise<TokenRecord | undefined> {
    return parse<TokenRecord>(await this.kv.get(`tokens/${id}`));
  }

  async tokens(): Promise<TokenRecord[]> {
    return (await this.kv.list('tokens/')).map((e) => JSON.parse(e.value) as TokenRecord);
  }

  async createToken(t: TokenRecord, draft: AuditDraft): Promise<AuditEvent> {
    const e = await this.#withAudit([{ key: `tokens/${t.id}`, rev: 0 }], [{ key: `tokens/${t.id}`, value: JSON.stringify(t) }], draft);
    if (e === undefined) throw new SvrError('SVR_ERR_CONDUCTOR_STORE', `token id ${t.id} exists already`);
    return e;
  }

  /** Marks the token used and records the asset, once: false when the token was used meanwhile. */
  async enrol(token: TokenRecord, asset: AssetRecord, draft: AuditDraft): Promise<AuditEvent | undefined> {
    const current = await this.kv.get(`tokens/${token.id}`);
    if (current === undefined || (JSON.parse(current.value) as TokenRecord).usedAt !== undefined) return undefined;
    const used: TokenRecord = { ...token, usedAt: asset.enrolledAt };
    return this.#withAudit(
      [{ key: `tokens/${token.id}`, rev: current.rev }],
      [{ key: `tokens/${token.id}`, value: JSON.stringify(used) }, { key: `assets/${asset.assetId}`, value: JSON.stringify(asset) }],
      draft,
    );
  }

  async user(name: string): Promise<UserRecord | undefined> {
    return parse<UserRecord>(await this.kv.get(`users/${name}`));
  }

  async users(): Promise<UserRecord[]> {
    return (await this.kv.list('users/')).map((e) => JSON.parse(e.value) as UserRecord);
  }

  async putUser(u: UserRecord, draft: AuditDraft): Promise<AuditEvent> {
    const e = await this.#withAudit([], [{ key: `users/${u.name}`, value: JSON.stringify(u) }], draft);
    if (e === undefined) throw new SvrError('SVR_ERR_CONDUCTOR_STORE', `user ${u.name} could not be stored`);
    return e;
  }

  /** The stored value of `key`, or `make()`'s stored first if there is none (the first conductor to write wins). */
  async once<T>(key: 'ca' | 'jwt-key', make: () => T): Promise<T> {
    for (;;) {
      const found = parse<T>(await this.kv.get(key));
      if (found !== undefined) return found;
      const value = make();
      if (await this.kv.txn([{ key, rev: 0 }], [{ key, value: JSON.stringify(value) }])) return value;
    }
  }

  close(): Promise<void> {
    return this.kv.close();
  }

  /**
   * Applies `puts` with the next audit event if `compares` hold. The audit sequence is itself compared, so
   * a race with another conductor's event is retried; a failed compare of the caller's keys returns
   * undefined. Appends in this process take turns (without that, 30 concurrent enrolments starved one
   * another of the sequence number until the retries ran out).
   */
  #withAudit(compares: readonly KvCompare[], puts: readonly KvPut[], draft: AuditDraft): Promise<AuditEvent | undefined> {
    return this.#appendLock.run(() => this.#appendAudit(compares, puts, draft));
  }

  async #appendAudit(compares: readonly KvCompare[], puts: readonly KvPut[], draft: AuditDraft): Promise<AuditEvent | undefined> {
    for (let attempt = 0; attempt < 100; attempt++) {
      const seqEntry = await this.kv.get('audit-seq');
      const seq = Number(seqEntry?.value ?? 0) + 1;
      const event: AuditEvent = { seq, time: new Date().toISOString(), ...draft };
      const ok = await this.kv.txn(
        [...compares, { key: 'audit-seq', rev: seqEntry?.rev ?? 0 }],
        [...puts, { key: 'audit-seq', value: String(seq) }, { key: `${AUDIT_PREFIX}${pad(seq)}`, value: JSON.stringify(event) }],
      );
      if (ok) {
        for (const fn of this.#auditListeners) fn(event);
        return event;
      }
      for (const c of compares) {
        if (((await this.kv.get(c.key))?.rev ?? 0) !== c.rev) return undefined;
      }
    }
    throw new SvrError('SVR_ERR_CONDUCTOR_STORE', 'the audit log is too busy: 100 attempts to append an event failed');
  }
}

function parse<T>(e: KvEntry | undefined): T | undefined {
  return e === undefined ? undefined : (JSON.parse(e.value) as T);
}
