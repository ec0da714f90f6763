/**
 * r1 with N data-path workers behind an emulated multi-queue NIC, r2 in-process, hosts on both LANs.
 * Like the kernel's TUN queue selection, a packet's queue is a hash of its 5-tuple as seen (not
 * normalized), so the two directions of a flow usually land on different workers and hand-off is used; a
 * fragment has no ports, so every fragment of a packet is hashed by its addresses only (one queue).
 */
import type { MessagePort } from 'node:worker_threads';
import { MemoryLink } from '../../src/io/memory/link.js';
import { MemorySegment } from '../../src/io/memory/segment.js';
import type { PacketPort } from '../../src/dataplane/port.js';
import type { SvrConfig } from '../../src/model/config.js';
import type { InThreadHost } from '../../src/control/in-thread-host.js';
import { Router, createRouter, type RouterOptions } from '../../src/control/router.js';
import { SimHost } from '../../src/sim/host.js';
import { packBatch, type ChannelBatch } from '../../src/workers/channel-port.js';
import { WorkerHost } from '../../src/workers/worker-host.js';
import type { Store } from '../../src/store/store.js';

function queueOf(p: Uint8Array, n: number): number {
  const v6 = p[0]! >>> 4 === 6;
  const a = v6 ? 8 : 12;
  const alen = v6 ? 32 : 8;
  const l4 = v6 ? 40 : (p[0]! & 15) * 4;
  const fragment = v6 ? p[6] === 44 : ((p[6]! << 8) | p[7]!) & 0x3fff;
  let h = 2166136261;
  for (let i = 0; i < alen; i++) h = Math.imul(h ^ p[a + i]!, 16777619);
  if (!fragment) for (let i = 0; i < 4; i++) h = Math.imul(h ^ (p[l4 + i] ?? 0), 16777619);
  return (h >>> 0) % n;
}

/** Joins a PacketPort (the "wire" side) to worker channels of one interface. */
export function attachWorkerChannels(host: WorkerHost, iface: string, wire: PacketPort): void {
  const n = host.workers;
  const channels: MessagePort[] = [...Array(n).keys()].map((w) => host.channel(w, iface));
  for (const ch of channels) ch.on('message', (b: ChannelBatch) => wire.transmit(b.data, b.offsets, b.lengths, b.count));
  wire.start((data, offsets, lengths, count) => {
    for (let w = 0; w < n; w++) {
      const pick = new Uint32Array(count);
      let k = 0;
      for (let i = 0; i < count; i++) if (queueOf(data.subarray(offsets[i]!), n) === w) pick[k++] = i;
      if (k === 0) continue;
      const off = Uint32Array.from(pick.subarray(0, k), (i) => offsets[i]!);
      const len = Uint32Array.from(pick.subarray(0, k), (i) => lengths[i]!);
      const b = packBatch(data, off, len, k);
      channels[w]!.postMessage(b, [b.data.buffer as ArrayBuffer, b.offsets.buffer as ArrayBuffer, b.lengths.buffer as ArrayBuffer]);
    }
  });
}

export interface WorkerLab {
  r1: Router<WorkerHost>;
  r2: Router<InThreadHost>;
  /** r1 (a, through its workers' queues) to r2 (b) */
  wan: MemoryLink;
  client: SimHost;
  server: SimHost;
  close(): Promise<void>;
}

export interface WorkerLabOptions {
  store?: Store;
  /** r1's worker host answers crash() (supervision tests) */
  testHooks?: boolean;
  log?: RouterOptions['log'];
  observeAlarm?: RouterOptions['observeAlarm'];
}

export async function createWorkerLab(config: SvrConfig, workers: number, opts: WorkerLabOptions = {}): Promise<WorkerLab> {
  const { testHooks, ...routerOpts } = opts;
  const wan = new MemoryLink('wan');
  const clientLan = new MemorySegment('client-lan');
  const serverLan = new MemorySegment('server-lan');
  const r1 = new Router(config, new WorkerHost({ workers, io: { kind: 'channel' }, testHooks: testHooks ?? false }), { name: 'r1', liveness: 'static', ...routerOpts });
  attachWorkerChannels(r1.host, 'lan0', clientLan.gatewayPort());
  attachWorkerChannels(r1.host, 'wan0', wan.a);
  const r2 = createRouter(config, { lan0: serverLan.gatewayPort(), wan0: wan.b }, { name: 'r2', liveness: 'static' });
  await r1.start();
  await r2.start();
  const client = new SimHost({ address: '198.18.1.10', port: clientLan.hostPort('198.18.1.10') });
  const server = new SimHost({ address: '198.18.3.20', port: serverLan.hostPort('198.18.3.20') });
  return {
    r1, r2, wan, client, server,
    async close() {
      client.close();
      server.close();
      await r1.stop();
      await r2.stop();
      wan.close();
      clientLan.close();
      serverLan.close();
    },
  };
}
