/**
 * Kv over etcd (several conductors share it): keys live under a namespace prefix; revisions are
 * etcd's mod_revision; transactions are etcd transactions comparing each key's mod revision
 * (a missing key compares as 0), so two conductors can never both win the same compare.
 */
import type { Etcd3, Namespace } from 'etcd3';
import { SvrError } from '../../errors.js';
import type { Kv, KvCompare, KvEntry, KvListOptions, KvPut } from './kv.js';

export class EtcdKv implements Kv {
  readonly ns: Namespace;

  constructor(readonly client: Etcd3, prefix: string) {
    this.ns = client.namespace(prefix);
  }

  async get(key: string): Promise<KvEntry | undefined> {
    const res = await guard(() => this.ns.get(key).exec());
    const kv = res.kvs[0];
    return kv === undefined ? undefined : { key, value: kv.value.toString('utf8'), rev: Number(kv.mod_revision) };
  }

  async list(prefix: string, opts: KvListOptions = {}): Promise<KvEntry[]> {
    const all = this.ns.getAll().prefix(prefix).sort('Key', opts.reverse === true ? 'Descend' : 'Ascend');
    // `after` is applied here; etcd has no exclusive start with a prefix, and lists stay small
    if (opts.limit !== undefined && opts.after === undefined) all.limit(opts.limit);
    const res = await guard(() => all.exec());
    let out = res.kvs.map((kv) => ({ key: kv.key.toString('utf8'), value: kv.value.toString('utf8'), rev: Number(kv.mod_revision) }));
    if (opts.after !== undefined) {
      const after = opts.after;
      out = out.filter((e) => (opts.reverse === true ? e.key < after : e.key > after));
      if (opts.limit !== undefined) out = out.slice(0, opts.limit);
    }
    return out;
  }

  async txn(compares: readonly KvCompare[], puts: readonly KvPut[], deletes: readonly string[] = []): Promise<boolean> {
    const ops = [...puts.map((p) => this.ns.put(p.key).value(p.value)), ...deletes.map((d) => this.ns.delete().key(d))];
    if (compares.length === 0) {
      const res = await guard(() => this.ns.if('\u0000none', 'Mod', '==', 0).then(...ops).commit());
      return res.succeeded;
    }
    const [first, ...rest] = compares;
    const txn = this.ns.if(first!.key, 'Mod', '==', first!.rev);
    for (const c of rest) txn.and(c.key, 'Mod', '==', c.rev);
    const res = await guard(() => txn.then(...ops).commit());
    return res.succeeded;
  }

  async close(): Promise<void> {
    this.client.close();
  }
}

async function guard<T>(call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (e) {
    throw new SvrError('SVR_ERR_CONDUCTOR_STORE', `etcd: ${e instanceof Error ? e.message : String(e)}`);
  }
}
