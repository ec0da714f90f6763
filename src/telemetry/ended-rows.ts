/**
 * Sessions that ended plainly (no interim record, migration or retransmission count: nearly all), as rows in
 * typed arrays, not record objects: the open-session slot's words (open-sessions.ts' layout) with the end time,
 * and the slot's six references (names, path, interfaces) with the close reason.
 *
 *   SessionRecords.end -> OpenSessions.endRow (the slot copied into the records' one-row EndedRows)
 *     -> SessionHistory.putRow (the block row and postings straight from it)
 *     -> IpfixExporter.offerRow (copied into the exporter's own rows; its flows encoded at flush from them)
 * A record object, its tuples, counts and id text were most of the records thread's garbage (vis18: 16 % of its
 * time made the object). The bytes written are those of the same session's SessionRecord (ended-rows.test).
 */
import type { SessionRole } from '../dataplane/events.js';
import { OPENED_DNAT, OPENED_SNAT } from '../dataplane/fact-ring.js';
import { outerProtocol, roleName } from '../dataplane/session-ops.js';
import { addressText } from '../dataplane/session-tuples.js';
import type { CloseReason, InterfaceRef } from './record.js';
import type { PathNames } from './open-sessions.js';

/** Words a row: an open-session slot's (open-sessions.ts SLOT_WORDS). */
export const ROW_WORDS = 52;
/** Word offsets of a row (as of a slot): OPENED word 0 (role, family, flags, protocol), ports. */
export const W0 = 7;
export const NAT_PORTS = 8;
export const PORTS = 9;
export const WP_PORTS = 10;
/** the four addresses' words: source, destination, NAT source, NAT destination (4 words each) */
export const ADDR = 16;
/** Double offsets of a row (Float64Array index i * ROW_DOUBLES + ...): start, end (a slot's due time), totals (packets fwd/rev, bytes fwd/rev). */
export const ROW_DOUBLES = ROW_WORDS / 2;
export const D_START = 16;
export const D_END = 17;
export const D_COUNTS = 18;
/** the words past a row's totals (a slot's totals at its previous record) are not copied */
const COPY_END = 2 * (D_COUNTS + 4);
/** References a row: tenant, service, application, path, ingress and egress interface (a slot's first six), close reason. */
export const ROW_REFS = 7;
export const R_REASON = 6;

/** The paths of a local session's records (frozen, shared) */
const NO_PATHS = Object.freeze([]) as unknown as string[];

export class EndedRows {
  length = 0;
  u32: Uint32Array;
  f64: Float64Array;
  refs: unknown[];

  constructor(readonly router: string, capacity = 1) {
    this.u32 = new Uint32Array(capacity * ROW_WORDS);
    this.f64 = new Float64Array(this.u32.buffer);
    this.refs = new Array<unknown>(capacity * ROW_REFS).fill(undefined);
  }

  /** A new row at the end (its words to be written by the caller); its index. */
  push(): number {
    const i = this.length;
    if ((i + 1) * ROW_WORDS > this.u32.length) {
      const u32 = new Uint32Array(Math.max(2 * this.u32.length, (i + 1) * ROW_WORDS));
      u32.set(this.u32);
      this.u32 = u32;
      this.f64 = new Float64Array(u32.buffer);
      this.refs.length = u32.length / ROW_WORDS * ROW_REFS;
    }
    this.length = i + 1;
    return i;
  }

  /** Row `i` of `from` appended; its index. */
  copy(from: EndedRows, i: number): number {
    return this.append(from.u32, i * ROW_WORDS, from.refs, i * ROW_REFS);
  }

  /** A row of ROW_WORDS words at `o` of `words` and ROW_REFS references at `r` of `refs` (a row's, or a slot's) appended; its index. */
  append(words: Uint32Array, o: number, refs: readonly unknown[], r: number): number {
    const k = this.push();
    const dst = this.u32;
    const t = k * ROW_WORDS;
    // the words read (id, OPENED word 0 and ports, addresses, start, end and totals): not the slot's links, due order or saved totals
    for (let w = 0; w < 4; w++) dst[t + w] = words[o + w]!;
    for (let w = W0; w <= WP_PORTS; w++) dst[t + w] = words[o + w]!;
    for (let w = ADDR; w < COPY_END; w++) dst[t + w] = words[o + w]!;
    for (let j = 0; j < ROW_REFS; j++) this.refs[k * ROW_REFS + j] = refs[r + j];
    return k;
  }

  /** No rows (their references stay until overwritten: names and interfaces, shared and long-lived). */
  clear(): void {
    this.length = 0;
  }

  w0(i: number): number {
    return this.u32[i * ROW_WORDS + W0]!;
  }

  role(i: number): SessionRole {
    return roleName((this.w0(i) >>> 8) & 0xff);
  }

  family(i: number): 4 | 6 {
    return ((this.w0(i) >>> 16) & 0xf) as 4 | 6;
  }

  /** OPENED_SNAT | OPENED_DNAT, when this router translated the session */
  nat(i: number): number {
    return (this.w0(i) >>> 20) & (OPENED_SNAT | OPENED_DNAT);
  }

  protocol(i: number): number {
    return this.w0(i) >>> 24;
  }

  /** the word offset of address k (0 source, 1 destination, 2 NAT source, 3 NAT destination): the NAT ones as the record has them */
  addressAt(i: number, k: number): number {
    const nat = this.nat(i);
    if (k === 2 && (nat & OPENED_SNAT) === 0) k = 0;
    else if (k === 3 && (nat & OPENED_DNAT) === 0) k = 1;
    return i * ROW_WORDS + ADDR + 4 * k;
  }

  /** address k (addressAt) as text */
  address(i: number, k: number): string {
    return addressText(this.u32, this.addressAt(i, k), this.family(i));
  }

  /** ports: source << 16 | destination, of the client's 5-tuple or (nat) the translated one */
  ports(i: number, nat: boolean): number {
    return this.u32[i * ROW_WORDS + (nat ? NAT_PORTS : PORTS)]!;
  }

  /** the waypoint's ports: local << 16 | peer */
  waypointPorts(i: number): number {
    return this.u32[i * ROW_WORDS + WP_PORTS]!;
  }

  /** the waypoint's protocol (ICMP travels as UDP) */
  outerProtocol(i: number): number {
    return outerProtocol(this.protocol(i));
  }

  startMs(i: number): number {
    return this.f64[i * ROW_DOUBLES + D_START]!;
  }

  endMs(i: number): number {
    return this.f64[i * ROW_DOUBLES + D_END]!;
  }

  packets(i: number, dir: number): number {
    return this.f64[i * ROW_DOUBLES + D_COUNTS + dir]!;
  }

  bytes(i: number, dir: number): number {
    return this.f64[i * ROW_DOUBLES + D_COUNTS + 2 + dir]!;
  }

  reason(i: number): CloseReason {
    return this.refs[i * ROW_REFS + R_REASON] as CloseReason;
  }

  tenant(i: number): string {
    return this.refs[i * ROW_REFS] as string;
  }

  service(i: number): string {
    return this.refs[i * ROW_REFS + 1] as string;
  }

  application(i: number): string {
    return this.refs[i * ROW_REFS + 2] as string;
  }

  /** the session's path, undefined for a local one (its records name no path) */
  path(i: number): PathNames | undefined {
    const p = this.refs[i * ROW_REFS + 3] as PathNames | undefined;
    return p !== undefined && this.role(i) !== 'local' ? p : undefined;
  }

  /** the record's `paths` (shared frozen lists) */
  paths(i: number): string[] {
    return this.path(i)?.only ?? NO_PATHS;
  }

  ingressInterface(i: number): InterfaceRef {
    return this.refs[i * ROW_REFS + 4] as InterfaceRef;
  }

  egressInterface(i: number): InterfaceRef {
    return this.refs[i * ROW_REFS + 5] as InterfaceRef;
  }

  ingressRouter(i: number): string {
    return this.role(i) === 'egress' ? (this.refs[i * ROW_REFS + 3] as PathNames | undefined)?.peer ?? '' : this.router;
  }

  egressRouter(i: number): string {
    return this.role(i) === 'ingress' ? (this.refs[i * ROW_REFS + 3] as PathNames | undefined)?.peer ?? '' : this.router;
  }
}
