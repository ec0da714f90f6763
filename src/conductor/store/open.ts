/**
 * Opens a conductor's store: LevelDB in a data directory (default), or etcd (several conductors, one
 * of them leads). Both give the same AuthorityStore; etcd also gives an election.
 */
import { join } from 'node:path';
import { mkdirSync } from 'node:fs';
import { Etcd3 } from 'etcd3';
import { AuthorityStore } from './authority-store.js';
import { EtcdKv } from './etcd-kv.js';
import { LevelKv } from './level-kv.js';
import { EtcdLeadership, LEASE_TTL_S, SoloLeadership, type Leadership } from './leadership.js';

export interface StoreOptions {
  /** LevelDB lives in <dataDir>/authority (used when `etcd` is not given) */
  dataDir: string;
  /** etcd client URLs, e.g. ['http://127.0.0.1:2379'] */
  etcd?: readonly string[];
  /** key prefix in etcd (one authority per prefix), default /svrouter/ */
  etcdPrefix?: string;
  /** the URL this conductor announces when it campaigns (routers and the CLI follow it) */
  url: string;
  leaseTtlS?: number;
  log?: (event: string, fields: Record<string, string>) => void;
}

export interface OpenedStore {
  store: AuthorityStore;
  leadership: Leadership;
}

export async function openStore(o: StoreOptions): Promise<OpenedStore> {
  if (o.etcd === undefined || o.etcd.length === 0) {
    const dir = join(o.dataDir, 'authority');
    mkdirSync(dir, { recursive: true });
    return { store: new AuthorityStore(await LevelKv.open(dir), 'level'), leadership: new SoloLeadership(o.url) };
  }
  const client = new Etcd3({ hosts: [...o.etcd], dialTimeout: 5000 });
  const prefix = o.etcdPrefix ?? '/svrouter/';
  const store = new AuthorityStore(new EtcdKv(client, `${prefix}store/`), 'etcd');
  return { store, leadership: new EtcdLeadership(client, prefix, o.url, o.leaseTtlS ?? LEASE_TTL_S, o.log) };
}
