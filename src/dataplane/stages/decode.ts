/**
 * decode: parse each packet's IP and L4 headers, drop what is malformed, decrement the TTL, then steer
 * (which sends WAN packets to fec-in and wan-verify and LAN packets to session-lookup, or another worker's).
 * 1. parse (every length checked) -> drop 'malformed' (+ the reason) on error;
 * 2. IPv4 header checksum (RFC 791) -> drop 'malformed' + 'malformed-bad-ip-checksum';
 *    an IPv4 or IPv6 fragment goes to reassembly (reassembly.ts): held ('consumed-fragments'), or the whole
 *    packet (up to 65,535 bytes) written over its slot or into the batch's big area ('packets-reassembled')
 *    and parsed again; fragments that cannot become a packet -> drop 'fragment'; fragment-* count every
 *    fragment lost, held ones too;
 * 3. TTL <= 1 -> drop 'ttl-expired', else TTL - 1 (incremental checksum); a packet back from an external
 *    function (`kind: function` interface) had its decrement on the way in: only TTL 0 is dropped;
 * 4. LAN: only TCP, UDP and ICMP echo open sessions -> drop 'unsupported-protocol' otherwise.
 */
import { malformedCounter } from '../counter-names.js';
import { PARSE_ERROR_NAMES, ParseError, parsePacket } from '../../packet/ip.js';
import { decrementTtl } from '../../packet/rewrite.js';
import { finish, sumBytes } from '../../packet/checksum.js';
import { PF_HANDED, type Batch, type Frame } from '../batch.js';
import type { DataplaneContext } from '../context.js';
import { sessionProtocol } from '../packet-ops.js';
import type { Stage, StageInit, StageRuntime } from '../stage.js';
import { FRAGMENT_DROP_COUNTERS, Fragment } from '../reassembly.js';

const N_STEER = 0, N_DROP = 1;

export class DecodeStage implements Stage {
  readonly name = 'decode';
  readonly nexts = ['steer', 'drop'] as const;
  private cMalformed = 0;
  private cReason: number[] = [];
  private cFragment = 0;
  private cFragmentWhy: number[] = [];
  private cReassembled = 0;
  private cFragmentHeld = 0;
  private cTtl = 0;
  private cProto = 0;
  private cRx = 0;
  private cIpChecksum = 0;

  constructor(private readonly ctx: DataplaneContext) {}

  init(i: StageInit): void {
    this.cRx = i.counter('rx-packets');
    this.cMalformed = i.counter('drop-malformed');
    this.cReason = PARSE_ERROR_NAMES.map((_, k) => { const name = malformedCounter(k); return name === undefined ? -1 : i.counter(name); });
    this.cIpChecksum = i.counter('malformed-bad-ip-checksum');
    this.cFragment = i.counter('drop-fragment');
    this.cFragmentWhy = FRAGMENT_DROP_COUNTERS.map((name) => i.counter(name));
    this.cReassembled = i.counter('packets-reassembled');
    this.cFragmentHeld = i.counter('consumed-fragments');
    this.cTtl = i.counter('drop-ttl-expired');
    this.cProto = i.counter('drop-unsupported-protocol');
  }

  run(b: Batch, f: Frame, rt: StageRuntime): void {
    const c = rt.counters;
    const ifs = this.ctx.tables.interfaces;
    const fns = this.ctx.functions.isFunction;
    c.add(this.cRx, f.n);
    for (let k = 0; k < f.n; k++) {
      const s = f.slot[k]!;
      const pi = b.info[s]!;
      const err = parsePacket(b.data, b.off[s]!, b.len[s]!, pi);
      if (err !== ParseError.None) {
        c.add(this.cMalformed);
        c.add(this.cReason[err]!);
        rt.next[s] = N_DROP;
        continue;
      }
      b.len[s] = pi.end - pi.l3; // trailing link padding is not part of the packet
      if (pi.family === 4 && finish(sumBytes(b.data, pi.l3, pi.l4 - pi.l3, 0)) !== 0) {
        c.add(this.cMalformed);
        c.add(this.cIpChecksum);
        rt.next[s] = N_DROP;
        continue;
      }
      if (pi.fragment !== 0 && !this.reassemble(b, s, rt)) {
        rt.next[s] = N_DROP;
        continue;
      }
      const fromFunction = fns[b.ifIndex[s]!] === 1;
      if (pi.ttl <= (fromFunction ? 0 : 1)) {
        c.add(this.cTtl);
        rt.next[s] = N_DROP;
        continue;
      }
      // a handed-over packet was decremented already, a returned one before it went to the function
      if ((b.flags[s]! & PF_HANDED) === 0 && !fromFunction) decrementTtl(b.data, pi);
      const wan = ifs[b.ifIndex[s]!]?.kind === 'wan';
      if (!wan && !sessionProtocol(pi)) {
        c.add(this.cProto);
        rt.next[s] = N_DROP;
        continue;
      }
      rt.next[s] = N_STEER;
    }
    const dropped = this.ctx.reassembly.dropped;
    for (let w = 0; w < dropped.length; w++) {
      if (dropped[w] === 0) continue;
      c.add(this.cFragmentWhy[w]!, dropped[w]!);
      dropped[w] = 0;
    }
  }

  /** A fragment in slot s: true when it completed its packet (now in slot s, parsed), false when held or dropped. */
  private reassemble(b: Batch, s: number, rt: StageRuntime): boolean {
    const pi = b.info[s]!;
    const got = this.ctx.reassembly.add(b, s, pi, rt.now);
    if (got !== Fragment.Complete) {
      rt.counters.add(got === Fragment.Held ? this.cFragmentHeld : this.cFragment);
      return false;
    }
    rt.counters.add(this.cReassembled);
    const err = parsePacket(b.data, b.off[s]!, b.len[s]!, pi);
    if (err === ParseError.None) return true;
    rt.counters.add(this.cMalformed);
    rt.counters.add(this.cReason[err]!);
    return false;
  }
}
