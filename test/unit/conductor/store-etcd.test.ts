import { Etcd3 } from 'etcd3';
import { AuthorityStore } from '../../../src/conductor/store/authority-store.js';
import { EtcdKv } from '../../../src/conductor/store/etcd-kv.js';
import { requires } from '../../support/prerequisites.js';
import { startEtcd, type EtcdCluster } from '../../support/etcd.js';
import { storeContract } from './store-contract.js';

const test = requires(import.meta.url);
let cluster: EtcdCluster;
let n = 0;
test.before(async () => {
  cluster = await startEtcd(3);
});
test.after(async () => {
  await cluster?.stop();
});

// each test gets its own prefix in the one three-member cluster
storeContract(test, async () => new AuthorityStore(new EtcdKv(new Etcd3({ hosts: cluster.endpoints }), `/svr-test/${++n}/`), 'etcd'));

test.run();
