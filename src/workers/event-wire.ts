/**
 * A worker's batch of data-path events as it crosses to the main thread: the two a session always has
 * (session.created, session.removed) and session.reverseSeen flattened into one array of numbers and
 * strings, with the names they repeat (service, tenant, interfaces, path, peer, application) sent once per
 * worker thread and referred to by number afterwards; every other event travels as it is, in order.
 * A structured clone of the event objects (every key written and read again per object, three nested
 * tuples per session.created) was ~36 % of a worker's busy time at 16,000 new sessions/s (r1, 2 workers);
 * a flat array of values is copied without keys and rebuilt here with object literals.
 * Row numbers are tagged with the worker (id = worker << 24 | row) while they are rebuilt.
 */
import { CLOSE_REASONS, type DpEvent, type FiveTuple, type SessionRole } from '../dataplane/events.js';

/** One batch as posted: `flat` the flattened events, `names` new entries of the worker's name list, `other` the rest in order. */
export interface WireEvents {
  flat: (number | string)[];
  names: string[];
  other: DpEvent[];
}

const E_OTHER = 0, E_CREATED = 1, E_REMOVED = 2, E_REVERSE = 3;
const ROLES: readonly SessionRole[] = ['ingress', 'egress', 'local'];
/** Names a worker thread numbers at most (config names and applications); later ones travel as strings. */
const MAX_NAMES = 65_536;

/** The worker side: numbers names as it first sends them. */
export class EventPacker {
  private readonly names = new Map<string, number>();

  pack(events: readonly DpEvent[]): WireEvents {
    const flat: (number | string)[] = [];
    const fresh: string[] = [];
    const other: DpEvent[] = [];
    const name = (s: string): void => {
      let id = this.names.get(s);
      if (id === undefined) {
        if (this.names.size >= MAX_NAMES) {
          flat.push(s);
          return;
        }
        id = this.names.size;
        this.names.set(s, id);
        fresh.push(s);
      }
      flat.push(id);
    };
    const tuple = (t: FiveTuple | undefined): void => {
      if (t === undefined) flat.push(0);
      else flat.push(1, t.src, t.dst, t.srcPort, t.dstPort, t.protocol);
    };
    for (const e of events) {
      switch (e.kind) {
        case 'session.created':
          flat.push(E_CREATED, e.row, e.gen, e.sessionId, ROLES.indexOf(e.role), e.atMs, e.inIf, e.outIf);
          name(e.service); name(e.tenant); name(e.application); name(e.inInterface); name(e.outInterface); name(e.path); name(e.peer);
          tuple(e.forward); tuple(e.waypoint); tuple(e.nat);
          break;
        case 'session.removed':
          flat.push(E_REMOVED, e.row, e.gen, e.sessionId, CLOSE_REASONS.indexOf(e.reason), ROLES.indexOf(e.role), e.atMs, e.ageMs,
            e.packets[0], e.packets[1], e.bytes[0], e.bytes[1]);
          name(e.tenant); name(e.service); name(e.application); name(e.path);
          break;
        case 'session.reverseSeen':
          flat.push(E_REVERSE, e.row, e.gen);
          break;
        default:
          flat.push(E_OTHER);
          other.push(e);
      }
    }
    return { flat, names: fresh, other };
  }
}

/** The main-thread side, one per worker thread (its name list grows with what that thread sent). */
export class EventUnpacker {
  private readonly names: string[] = [];

  constructor(private readonly worker: number, private readonly rowBits: number) {}

  unpack(m: WireEvents): DpEvent[] {
    for (const n of m.names) this.names.push(n);
    const f = m.flat;
    const tag = this.worker << this.rowBits;
    const out: DpEvent[] = [];
    let i = 0;
    let o = 0;
    const num = (): number => f[i++] as number;
    const str = (): string => f[i++] as string;
    const name = (): string => {
      const v = f[i++]!;
      return typeof v === 'string' ? v : this.names[v]!;
    };
    const tuple = (): FiveTuple | undefined => {
      if (f[i++] === 0) return undefined;
      return { src: str(), dst: str(), srcPort: num(), dstPort: num(), protocol: num() };
    };
    while (i < f.length) {
      const code = num();
      if (code === E_CREATED) {
        const row = tag | num(), gen = num(), sessionId = str(), role = ROLES[num()]!, atMs = num(), inIf = num(), outIf = num();
        const service = name(), tenant = name(), application = name(), inInterface = name(), outInterface = name(), path = name(), peer = name();
        const forward = tuple()!, waypoint = tuple(), nat = tuple();
        out.push({ kind: 'session.created', row, gen, sessionId, role, service, tenant, atMs, application, forward, waypoint, nat, inIf, inInterface, outIf, outInterface, path, peer });
      } else if (code === E_REMOVED) {
        const row = tag | num(), gen = num(), sessionId = str(), reason = CLOSE_REASONS[num()]!, role = ROLES[num()]!, atMs = num(), ageMs = num();
        const packets: [number, number] = [num(), num()], bytes: [number, number] = [num(), num()];
        const tenant = name(), service = name(), application = name(), path = name();
        out.push({ kind: 'session.removed', row, gen, sessionId, reason, role, tenant, service, application, path, atMs, ageMs, packets, bytes });
      } else if (code === E_REVERSE) {
        out.push({ kind: 'session.reverseSeen', row: tag | num(), gen: num() });
      } else {
        const e = m.other[o++]!;
        out.push('row' in e ? { ...e, row: tag | e.row } : e);
      }
    }
    return out;
  }
}
