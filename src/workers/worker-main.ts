/**
 * A data-path worker thread: one Dataplane with its own sessions, its queue of each TUN device (or message
 * channels in tests), its waypoint port slice and the data-path parts of plugins. Control stays on the
 * main thread: this thread reports facts (one message per batch of events) and runs commands.
 *
 * Flow: packets in (TUN queue / channel / hand-off from a peer worker) -> Dataplane -> packets out (TUN
 * queue / channel), other workers' packets -> their hand-off port, events -> main.
 */
import { writeFileSync } from 'node:fs';
import { parentPort, workerData, type MessagePort } from 'node:worker_threads';
import { Dataplane } from '../dataplane/dataplane.js';
import { listSessions, pageSessions, tallySessions } from '../dataplane/views.js';
import { collectChanges, importRows } from '../dataplane/session-rows.js';
import type { PacketPort } from '../dataplane/port.js';
import { TunPort } from '../io/tun/tun-port.js';
import { setBusyPoll } from '../io/tun/busy-poll.js';
import { compileRouter, compileRouterInTurns, routerConfig } from '../model/compile.js';
import type { SvrConfig } from '../model/config.js';
import { Rib } from '../model/rib.js';
import { PluginHost, chainStages } from '../plugins/host.js';
import type { FromWorker, ToWorker, WorkerInit } from './protocol.js';
import { ChannelPort, packBatch } from './channel-port.js';
import { RecordSender } from './record-wire.js';
import { unsliceValue } from '../util/sliced-clone.js';

const init = workerData as WorkerInit;
const parent = parentPort!;
try {
  writeFileSync('/proc/thread-self/comm', `svr-worker-${init.index}`); // what top -H, ps -L and the scaling case's per-thread CPU show
} catch {
  // not Linux: the thread keeps its name
}
const post = (m: FromWorker, transfer: ArrayBuffer[] = []) => parent.postMessage(m, transfer);

/** The running config and its RIB (a RIB change updates it route by route: model/rib.ts). */
let config: SvrConfig = init.config;
let rib = new Rib(routerConfig(config, init.routerName), init.learned);
let tables = compileRouter(config, init.routerName, init.generation, rib, init.prepared);
const turn = (): Promise<void> => new Promise((r) => setImmediate(r));

/**
 * A reload: the config rebuilt from its shared slices and compiled in slices, a turn of the event loop after each
 * (batches in between: 10,000 services in one turn stopped this worker's forwarding ~150-300 ms), then swapped.
 * The message queue below holds later messages (routing by the new service ids, ...) until the swap; path
 * verdicts, which control writes into shared memory, come on a board of the new numbering when it changed (and
 * packets per path are counted from then into a new buffer, so no count is read against another path's id).
 */
async function reload(m: Extract<ToWorker, { t: 'config' }>): Promise<void> {
  const next = (await unsliceValue(m.config, turn)) as SvrConfig;
  const nextRib = new Rib(routerConfig(next, init.routerName), m.learned);
  const nextTables = await compileRouterInTurns(next, init.routerName, m.generation, nextRib, m.prepared, turn);
  await turn();
  const pathRx = m.pathUp !== undefined ? new SharedArrayBuffer(init.pathRx.byteLength) : undefined; // counts by the new ids
  dp.setTables(nextTables, m.pathUp?.buffer, pathRx);
  if (m.pathUp !== undefined) post({ t: 'pathUpTaken', index: init.index, epoch: m.pathUp.epoch, pathRx: pathRx! });
  config = next;
  rib = nextRib;
  tables = nextTables;
}
const peers = new Map<number, MessagePort>();
const ports: (PacketPort | null)[] = tables.interfaces.map(() => null);
const records = new RecordSender();

const dp = new Dataplane({
  tables,
  ports,
  shared: { counters: init.counters, pathUp: init.pathUp, pathRx: init.pathRx, facts: init.facts, replay: { marks: init.replayMarks, floors: init.replayFloors } },
  onRecords: (events, s) => {
    const { m, transfer } = records.pack(events, s, dp.ctx.applications);
    post({ t: 'records', index: init.index, records: m }, transfer);
  },
  ...(init.sessionCountersMs !== undefined ? { sessionCountersMs: init.sessionCountersMs } : {}),
  replaySenderBase: init.replaySenderBase,
  ownership: {
    index: init.index,
    count: init.count,
    steering: init.steering,
    send: (owner, ifIndex, data, offsets, lengths, count, flags) => {
      const port = peers.get(owner);
      if (port === undefined) return;
      const b = packBatch(data, offsets, lengths, count);
      port.postMessage({ ifIndex, flags, ...b }, [b.data.buffer as ArrayBuffer, b.offsets.buffer as ArrayBuffer, b.lengths.buffer as ArrayBuffer]);
    },
  },
});

dp.ctx.sessions.startGenerations(init.restarts * 0x0100_0000);

const plugins = new PluginHost({ parts: 'dataplane', routerName: init.routerName, dataplane: dp });

let names = 0;
function publishNames(): void {
  const list = dp.counters.nameList;
  if (list.length === names) return;
  names = list.length;
  post({ t: 'counterNames', index: init.index, names: [...list] });
}

/** the report's counts: those the table keeps (no walk over its rows) */
function stats(): void {
  post({ t: 'stats', index: init.index, ...tallySessions(dp.ctx), keys: tables.paths.map((p) => dp.ctx.crypto.keys.status(p.id)) });
}

let timers: NodeJS.Timeout[] = [];

function start(): void {
  if (init.io.kind === 'tun') {
    if (init.io.busyPollUs !== undefined) setBusyPoll(init.io.busyPollUs);
    for (const d of init.io.devices) {
      const ifx = tables.interfaceIndex(d.interface);
      const port = TunPort.open({ name: d.device, multiQueue: true, ...d.options });
      ports[ifx] = port;
      port.start((data, offsets, lengths, count, room) => dp.receive(ifx, data, offsets, lengths, count, room));
    }
  }
  dp.setPorts(ports);
  const sweep = (): void => {
    if (dp.sweep() && timers.length > 0) setImmediate(sweep); // more due: again after the next batches
  };
  timers = [
    setInterval(sweep, 250),
    setInterval(() => { publishNames(); stats(); }, 1000),
  ];
  publishNames();
}

async function handle(m: ToWorker): Promise<void> {
  switch (m.t) {
    case 'peers':
      for (const { index, port } of m.ports) {
        peers.get(index)?.close(); // that worker's thread was replaced: its new port
        peers.set(index, port);
        port.on('message', (h: { ifIndex: number; flags: number; data: Uint8Array; offsets: Uint32Array; lengths: Uint32Array; count: number }) =>
          dp.receiveHandoff(h.ifIndex, h.data, h.offsets, h.lengths, h.count, h.flags));
      }
      break;
    case 'channels':
      for (const { interface: name, port } of m.ports) {
        const ifx = tables.interfaceIndex(name);
        const cp = new ChannelPort(name, port);
        ports[ifx] = cp;
        cp.start((data, offsets, lengths, count) => dp.receive(ifx, data, offsets, lengths, count));
      }
      dp.setPorts(ports);
      break;
    case 'start':
      try {
        start();
        post({ t: 'ready', id: m.id, index: init.index });
      } catch (e) {
        post({ t: 'ready', id: m.id, index: init.index, error: e instanceof Error ? e.message : String(e) });
      }
      break;
    case 'crash':
      if (!init.testHooks) break;
      if (m.how === 'hang') for (;;) { /* a thread that stops answering: the host's watchdog ends it */ }
      setImmediate(() => {
        throw new Error(`worker ${init.index}: crash test hook`);
      });
      break;
    case 'routing':
      dp.ctx.servicePaths.set(m.service, m.paths, m.refused, m.resiliency);
      break;
    case 'probe':
      dp.probe(m.row, m.gen);
      break;
    case 'remove':
      dp.removeRow(m.row, m.gen, m.reason);
      break;
    case 'pathMessages':
      dp.holdControl(() => {
        for (const x of m.messages) dp.sendPathMessage(x.path, x.payload);
      });
      break;
    case 'pathKeys':
      dp.setPathKeys(m.path, m.keys, m.activeAt, m.overlapMs);
      break;
    case 'dropPathKeys':
      dp.dropPathKeys(m.path);
      break;
    case 'pathPeer':
      dp.setPathPeer(m.path, m.address, m.controlPort);
      break;
    case 'resignal':
      dp.resignalPath(m.path);
      break;
    case 'pathMtu':
      dp.setPathMtu(m.path, m.mtu);
      break;
    case 'pathTransform':
      dp.setPathTransform(m.path, m.on);
      break;
    case 'pathProbe':
      dp.sendPathProbe(m.path, m.tcpFlags, m.payload);
      break;
    case 'config':
      await reload(m);
      break;
    case 'rib':
      rib.update(m.set, m.removed);
      tables = compileRouter(config, init.routerName, m.generation, rib);
      dp.setTables(tables);
      break;
    case 'plugins': {
      const { failures } = await plugins.apply(m.specs, {
        tenants: tables.tenants.map((n) => m.tenants[n] ?? []),
        services: tables.services.map((s) => m.services[s.name] ?? []),
      });
      publishNames();
      post({ t: 'plugins', id: m.id, index: init.index, failures, stages: chainStages(dp) });
      break;
    }
    case 'sessions':
      post({ t: 'sessions', id: m.id, index: init.index, rows: listSessions(dp.ctx, dp.ctx.clock()) });
      break;
    case 'sessionPage':
      post({ t: 'sessionPage', id: m.id, index: init.index, rows: pageSessions(dp.ctx, dp.ctx.clock(), m.query, init.index << m.rowBits) });
      break;
    case 'sessionChanges':
    {
      const changes = collectChanges(dp.ctx.sessions, dp.ctx.clock(), m.full, undefined, init.index, m.minAgeMs);
      post({ t: 'sessionChanges', id: m.id, index: init.index, changes }, [changes.rows.buffer as ArrayBuffer, changes.removed.buffer as ArrayBuffer]);
      break;
    }
    case 'importSessions':
      dp.ctx.crypto.keys.raiseCounters(dp.ctx.clock());
      post({ t: 'importSessions', id: m.id, index: init.index, result: importRows(dp.ctx.sessions, m.rows, dp.ctx.clock(), (port) => port === 0 ? init.index === 0 : dp.ctx.sessions.ownership?.ownsPort(port) ?? true, (r) => dp.ctx.hooks.runInstalled(r)) });
      break;
    case 'sweep':
      dp.sweepAll();
      break;
    case 'removeAll':
      dp.removeAll(m.reason);
      break;
    case 'stop':
      for (const t of timers) clearInterval(t);
      timers = [];
      dp.removeAll('shutdown'); // session.removed of every remaining session, before 'stopped'
      plugins.close();
      for (const p of ports) p?.close();
      for (const p of peers.values()) p.close();
      post({ t: 'stopped', id: m.id, index: init.index });
      parent.close();
      break;
  }
}

// one message at a time, in order: a reload's (or a plugin apply's) turns let batches run, never later messages
let queue: Promise<void> = Promise.resolve();
parent.on('message', (m: ToWorker) => {
  queue = queue.then(() => handle(m)).catch((e: unknown) => post({ t: 'error', index: init.index, message: e instanceof Error ? e.message : String(e) }));
});
