/**
 * Kv over one LevelDB directory (one conductor, nothing to install). Each value is stored with its
 * revision; a counter under a reserved key hands out revisions. Transactions run one at a time in
 * this process (LevelDB allows one opener, so no other process writes) and apply as one batch.
 */
import { Level } from 'level';
import { SvrError } from '../../errors.js';
import { Mutex, type Kv, type KvCompare, type KvEntry, type KvListOptions, type KvPut } from './kv.js';

const REV_KEY = '\u0000rev';

interface Stored {
  v: string;
  r: number;
}

export class LevelKv implements Kv {
  readonly #lock = new Mutex();

  private constructor(private readonly db: Level<string, Stored | number>, private rev: number) {}

  static async open(dir: string): Promise<LevelKv> {
    const db = new Level<string, Stored | number>(dir, { valueEncoding: 'json' });
    try {
      await db.open();
    } catch (e) {
      const why = e instanceof Error && e.cause instanceof Error ? e.cause.message : String(e);
      throw new SvrError('SVR_ERR_CONDUCTOR_STORE', `cannot open the conductor store ${dir}: ${why}${why.includes('lock') ? ' (another conductor has it open: LevelDB allows one opener)' : ''}`);
    }
    const rev = await db.get(REV_KEY);
    return new LevelKv(db, typeof rev === 'number' ? rev : 0);
  }

  async get(key: string): Promise<KvEntry | undefined> {
    const s = await this.db.get(key);
    return s === undefined || typeof s === 'number' ? undefined : { key, value: s.v, rev: s.r };
  }

  async list(prefix: string, opts: KvListOptions = {}): Promise<KvEntry[]> {
    const range: { gt: string; lt: string; reverse: boolean; limit: number } = {
      gt: opts.after !== undefined && opts.after > prefix ? opts.after : prefix,
      lt: `${prefix}\uffff`,
      reverse: opts.reverse === true,
      limit: opts.limit ?? -1,
    };
    const out: KvEntry[] = [];
    for await (const [key, s] of this.db.iterator(range)) {
      if (typeof s !== 'number' && key.startsWith(prefix)) out.push({ key, value: s.v, rev: s.r });
    }
    return out;
  }

  txn(compares: readonly KvCompare[], puts: readonly KvPut[], deletes: readonly string[] = []): Promise<boolean> {
    return this.#lock.run(async () => {
      for (const c of compares) {
        if (((await this.get(c.key))?.rev ?? 0) !== c.rev) return false;
      }
      const rev = this.rev + 1;
      const batch = this.db.batch();
      for (const p of puts) batch.put(p.key, { v: p.value, r: rev });
      for (const d of deletes) batch.del(d);
      batch.put(REV_KEY, rev);
      await batch.write();
      this.rev = rev;
      return true;
    });
  }

  async close(): Promise<void> {
    await this.#lock.run(() => this.db.close());
  }
}
