/**
 * Worker ownership of sessions (architecture §5.4 "steering"): with several data-path workers, each owns
 * its sessions, its slice of waypoint ports (even local ports with (port >> 1) % workers === index) and
 * the steering entries for keys whose default owner is another worker. A packet that lands on the wrong
 * worker is handed to its owner in a batch (one message per owner and interface per batch).
 * WAN packets are owned by their destination port's slice whatever its parity (the egress side's odd
 * ports too), and path control packets by worker 0: the same packet always meets the same replay window,
 * whichever queue the kernel picks (docs/security.md "Replay windows").
 * LAN keys: the worker whose queue the kernel put a new flow's first packet on owns its session (no
 * hand-off), so every LAN key of a session is recorded in its owner's steering table and a LAN packet whose
 * key no table holds belongs to the worker that got it. `SVR_OWN_WHERE_LANDED=0` (A/B): a LAN key's default
 * owner is the hash of its 5-tuple (defaultOwner), the first packet handed there when the kernel chose
 * another queue (half of them with 2 workers), and only keys the hash does not guess are recorded.
 */
import { KW4, KW6 } from './flow-key.js';
import { SteeringTable, defaultOwner, type SteeringShared } from './steering.js';

/** `flags`: PF_REASSEMBLED when the packets were reassembled by the sender (the LAN egress fragments them again). */
export type HandoffSink = (owner: number, ifIndex: number, data: Uint8Array, offsets: Uint32Array, lengths: Uint32Array, count: number, flags: number) => void;

export interface OwnershipOptions {
  index: number;
  count: number;
  steering: SteeringShared;
  send: HandoffSink;
  /** default: on unless SVR_OWN_WHERE_LANDED=0 (see above) */
  whereLanded?: boolean;
}

/** How a key is owned by default: LAN keys by hash, our own WAN waypoint ports by port slice, the peer's
 *  WAN waypoint ports by steering entry. */
export const KEY_LAN = 1, KEY_WAN_OURS = 2, KEY_WAN_THEIRS = 3;

export class Ownership {
  readonly index: number;
  readonly count: number;
  /** every worker's steering table (this worker writes only its own) */
  readonly tables: SteeringTable[];
  readonly send: HandoffSink;
  /** a new LAN flow is owned where its first packet landed (else by the hash of its 5-tuple) */
  readonly whereLanded: boolean;
  /** keys that could not be recorded (this worker's table was full): their sessions were refused */
  claimFailures = 0;

  constructor(o: OwnershipOptions) {
    this.index = o.index;
    this.count = o.count;
    this.tables = o.steering.tables.map((t) => new SteeringTable(t, o.steering.capacity));
    this.send = o.send;
    this.whereLanded = o.whereLanded ?? process.env['SVR_OWN_WHERE_LANDED'] !== '0';
  }

  /** This worker's own table. */
  get table(): SteeringTable {
    return this.tables[this.index]!;
  }

  /** True when an even local waypoint port belongs to this worker's slice. */
  ownsPort(port: number): boolean {
    return (port >> 1) % this.count === this.index;
  }

  /** Owner of a packet whose normalized key is in `key` (family's width); `ourPort` >= 0 for a WAN packet
   *  to one of our waypoint ports. */
  ownerOf(key: Uint32Array, family: 4 | 6, wan: boolean, dstPort: number): number {
    const kw = family === 6 ? KW6 : KW4;
    for (let w = 0; w < this.count; w++) if (this.tables[w]!.has(key, kw)) return w;
    if (wan) return (dstPort >> 1) % this.count;
    return this.whereLanded ? this.index : defaultOwner(key, kw, this.count);
  }

  /** Records this worker as the owner of an installed key when another worker would not guess it (every LAN
   *  key when new flows are owned where they land); false
   *  when its steering table is full (the caller refuses the session: its packets would go astray). */
  claim(key: Uint32Array, family: number, kind: number): boolean {
    const kw = family === 6 ? KW6 : KW4;
    if (kind === KEY_WAN_OURS || kind === KEY_WAN_THEIRS) return true; // both owned by their port's slice
    if (kind === KEY_LAN && !this.whereLanded && defaultOwner(key, kw, this.count) === this.index) return true;
    if (this.table.insert(key, kw)) return true;
    this.claimFailures++;
    return false;
  }

  release(key: Uint32Array, family: number): void {
    this.table.remove(key, family === 6 ? KW6 : KW4);
  }
}
