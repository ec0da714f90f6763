/**
 * StepAgents wired to each other without routers: a manual clock with timers and a message queue that
 * is delivered between timer runs, so rate limits and timeouts can be tested to the millisecond.
 */
import { Subject } from 'rxjs';
import { StepAgent, type StepOptions, type StepPathStatus, type StepPeer, type StepTimers } from '../../../src/step/agent.js';

export class ManualClock implements StepTimers {
  now = 1_800_000_000_000;
  private next = 1;
  private timers = new Map<number, { at: number; fn: () => void }>();
  /** delivers queued messages; called after every timer */
  settle: () => void = () => {};

  setTimeout(fn: () => void, ms: number): unknown {
    const id = this.next++;
    this.timers.set(id, { at: this.now + ms, fn });
    return id;
  }

  clearTimeout(handle: unknown): void {
    this.timers.delete(handle as number);
  }

  /** Moves time forward, running due timers in order. */
  advance(ms: number): void {
    const end = this.now + ms;
    for (;;) {
      let due: [number, { at: number; fn: () => void }] | null = null;
      for (const e of this.timers) if (e[1].at <= end && (due === null || e[1].at < due[1].at)) due = e;
      if (due === null) break;
      this.timers.delete(due[0]);
      this.now = Math.max(this.now, due[1].at);
      due[1].fn();
      this.settle();
    }
    this.now = end;
  }
}

export interface MeshNode {
  name: string;
  agent: StepAgent;
  services: Map<string, boolean>;
  /** by path name `a->b` */
  status: Map<string, StepPathStatus>;
  /** added to the clock for this node's now() (a node whose clock is behind) */
  skewMs: number;
  inbox: Subject<{ path: number; payload: Uint8Array; atMs: number }>;
}

export class FakeMesh {
  readonly clock = new ManualClock();
  readonly nodes = new Map<string, MeshNode>();
  private queue: { to: string; path: number; payload: Uint8Array }[] = [];
  /** return false to lose a datagram */
  filter: (from: string, to: string, payload: Uint8Array) => boolean = () => true;
  sent = 0;

  constructor(private readonly links: [string, string][], private readonly options: StepOptions) {
    this.clock.settle = () => this.flush();
  }

  /** Creates (or re-creates, as after a restart) a node's agent; does not start it. */
  add(name: string, services: Record<string, boolean> = {}, skewMs = 0): MeshNode {
    const peers = this.peersOf(name);
    const node: MeshNode = {
      name, services: new Map(Object.entries(services)), skewMs, inbox: new Subject(),
      status: new Map(peers.flatMap((p) => p.paths.map((x) => [x.name, { usable: true }] as [string, StepPathStatus]))),
      agent: null as unknown as StepAgent,
    };
    node.agent = new StepAgent({
      routerName: name,
      authority: 'lab',
      peers: () => peers,
      localServices: () => [...node.services].map(([n, reachable]) => ({ name: n, reachable })),
      pathStatus: (id) => node.status.get(peers.flatMap((p) => p.paths).find((x) => x.id === id)!.name)!,
      send: (id, payload) => this.send(name, id, payload),
      messages$: node.inbox,
      now: () => this.clock.now + node.skewMs,
      timers: this.clock,
    }, this.options);
    this.nodes.set(name, node);
    return node;
  }

  node(name: string): MeshNode {
    return this.nodes.get(name)!;
  }

  /** Delivers queued datagrams until the network is quiet. */
  flush(): void {
    for (let rounds = 0; this.queue.length > 0; rounds++) {
      if (rounds > 10_000) throw new Error('the network does not settle');
      const q = this.queue;
      this.queue = [];
      for (const m of q) this.nodes.get(m.to)?.inbox.next({ path: m.path, payload: m.payload, atMs: this.clock.now });
    }
  }

  private send(from: string, pathId: number, payload: Uint8Array): boolean {
    const link = this.links.filter(([a, b]) => a === from || b === from)[pathId];
    if (link === undefined) return false;
    const to = link[0] === from ? link[1] : link[0];
    this.sent++;
    if (!this.filter(from, to, payload)) return true;
    const back = this.links.filter(([a, b]) => a === to || b === to).indexOf(link);
    this.queue.push({ to, path: back, payload: payload.slice() });
    return true;
  }

  /** A router's peers: one path per link, path id = index of the link among the router's links. */
  private peersOf(name: string): StepPeer[] {
    return this.links.filter(([a, b]) => a === name || b === name).map(([a, b], id) => {
      const peer = a === name ? b : a;
      return { id: 100 + id, name: peer, paths: [{ id, name: `${name}->${peer}`, vector: '' }] };
    });
  }
}
