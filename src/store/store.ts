/**
 * The node's state on disk: one LevelDB database (`level`), written by control only, with sublevels
 * per concern: `counters` (periodic snapshots), `config`, and one per plugin (`plugin:<name>`). The session
 * history is a database of its own in `<dir>/history` (its blocks in a third, `<dir>/history/blocks`:
 * openBytesDb), which the node's records thread opens (telemetry/records-thread.ts). LevelDB allows one
 * opener, so while a node runs, tools ask it over the control socket; when it is down they open the
 * directory directly.
 */
import { Level } from 'level';
import { SvrError } from '../errors.js';
import type { AbstractSublevel } from 'abstract-level';

type Sub = AbstractSublevel<Level<string, unknown>, string | Uint8Array | Buffer, string, unknown>;

/** A small key-value store with JSON values (a sublevel, or a Map when there is no database). */
export interface KeyValueStore {
  put(key: string, value: unknown): Promise<void>;
  get(key: string): Promise<unknown>;
  del(key: string): Promise<void>;
  entries(opts?: { gte?: string; lt?: string; limit?: number }): AsyncIterable<[string, unknown]>;
}

/** A LevelDB database of binary values under text keys, on its own (the session history's blocks). */
export type BytesDb = Level<string, Uint8Array>;

/** Opens (creates) a BytesDb in `dir`; SVR_ERR_STORE_OPEN when it cannot. */
export async function openBytesDb(dir: string): Promise<BytesDb> {
  const db = new Level<string, Uint8Array>(dir, { keyEncoding: 'utf8', valueEncoding: 'view' });
  try {
    await db.open();
  } catch (e) {
    throw openError(dir, e);
  }
  return db;
}

function openError(dir: string, e: unknown): SvrError {
  const why = e instanceof Error && 'cause' in e && e.cause instanceof Error ? e.cause.message : String(e);
  return new SvrError('SVR_ERR_STORE_OPEN', `cannot open the state database ${dir}: ${why}` +
    (why.includes('lock') ? ' (another process has it open: LevelDB allows one opener; ask the running node instead)' : ''));
}

export class Store {
  private constructor(readonly dir: string, readonly db: Level<string, unknown>) {}

  static async open(dir: string): Promise<Store> {
    const db = new Level<string, unknown>(dir, { valueEncoding: 'json' });
    try {
      await db.open();
    } catch (e) {
      throw openError(dir, e);
    }
    return new Store(dir, db);
  }

  sublevel(name: string): Sub {
    return this.db.sublevel<string, unknown>(name, { valueEncoding: 'json' });
  }

  /**
   * A plugin's own sublevel `plugin:<name>`: in LevelDB its keys are `!plugin:<name>!<key>` (abstract-level's
   * sublevel prefix), so one database holds every plugin's store apart.
   */
  pluginStore(plugin: string): KeyValueStore {
    const sub = this.sublevel(`plugin:${plugin}`);
    return {
      put: (k, v) => sub.put(k, v),
      get: async (k) => sub.get(k),
      del: (k) => sub.del(k),
      entries: (opts = {}) => {
        const it = sub.iterator({ ...opts, limit: opts.limit ?? -1 });
        return {
          async *[Symbol.asyncIterator]() {
            for await (const [k, v] of it) yield [k, v] as [string, unknown];
          },
        };
      },
    };
  }

  /** A plugin's entries in key order: those starting with `prefix` (default all), at most `limit` (`svr inspect plugin`). */
  async pluginEntries(plugin: string, opts: { prefix?: string; limit?: number } = {}): Promise<{ key: string; value: unknown }[]> {
    const p = opts.prefix ?? '';
    const out: { key: string; value: unknown }[] = [];
    const range = p === '' ? {} : { gte: p, lt: `${p}\uffff` };
    for await (const [key, value] of this.pluginStore(plugin).entries({ ...range, limit: opts.limit ?? 100 })) out.push({ key, value });
    return out;
  }

  async close(): Promise<void> {
    await this.db.close();
  }
}
