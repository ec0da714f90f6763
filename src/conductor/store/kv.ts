/**
 * The small key-value contract both conductor stores implement (LevelDB for one conductor, etcd for
 * several): reads with a modification revision, prefix listing, and all-or-nothing transactions that
 * compare revisions first. The authority store (authority-store.ts) is written once on top of it.
 */

export interface KvEntry {
  key: string;
  value: string;
  /** modification revision: changes on every write of this key; 0 means absent */
  rev: number;
}

/** A transaction applies only if each key's revision is still `rev` (0: the key must be absent). */
export interface KvCompare {
  key: string;
  rev: number;
}

export interface KvPut {
  key: string;
  value: string;
}

export interface KvListOptions {
  /** only keys greater than this one */
  after?: string;
  limit?: number;
  /** newest (greatest key) first */
  reverse?: boolean;
}

export interface Kv {
  get(key: string): Promise<KvEntry | undefined>;
  list(prefix: string, opts?: KvListOptions): Promise<KvEntry[]>;
  /** true when every compare held and every put/delete was applied together; false when nothing was applied */
  txn(compares: readonly KvCompare[], puts: readonly KvPut[], deletes?: readonly string[]): Promise<boolean>;
  close(): Promise<void>;
}

/** Runs async sections one at a time (a process-local lock). */
export class Mutex {
  #tail: Promise<unknown> = Promise.resolve();

  run<T>(section: () => Promise<T>): Promise<T> {
    const result = this.#tail.then(section, section);
    this.#tail = result.catch(() => undefined);
    return result;
  }
}
