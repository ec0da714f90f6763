/** The standby of bench/ha-sync.ts: a pair node in a worker thread; answers 'started', 'clear' (a fresh replica) and 'cpu' (its
 *  thread's CPU seconds and minor page faults, and the session rows in its replica). */
import { parentPort, workerData } from 'node:worker_threads';
import { PairNode } from '../src/ha/pair-node.js';
import { SYNC_KIND_SESSION } from '../src/node/ha-sessions.js';
import type { Redundancy } from '../src/model/config.js';
import { threadCpu, threadFaults } from './ha-sync-cpu.js';

const data = workerData as { redundancy: Redundancy; ports: { local: number; partner: number } };
const b = new PairNode({ redundancy: data.redundancy, node: 'r1b', linksUp: () => 2, ports: data.ports });
await b.start();
parentPort!.on('message', (m: string) => {
  if (m === 'started') {
    const wait = (): void => { if (b.role === 'standby') parentPort!.postMessage({ cpu: threadCpu(), faults: threadFaults(), replica: 0 }); else setTimeout(wait, 10); };
    wait();
  } else if (m === 'clear') {
    b.replica.clear();
    parentPort!.postMessage({ cpu: threadCpu(), faults: threadFaults(), replica: 0 });
  } else parentPort!.postMessage({ cpu: threadCpu(), faults: threadFaults(), replica: b.replica.count(SYNC_KIND_SESSION) });
});
