/**
 * The classify stage of builtin.appid and its per-session state. For each data packet of a session not
 * yet decided (at most `max-packets` of them):
 *   1. client -> server TCP: TLS ClientHello server_name, else an HTTP/1.x Host header;
 *   2. server -> client UDP from port 53: learn the answer's A records (address -> name asked for);
 *   3. no name, and nothing more to wait for (not a partial ClientHello or request, not a DNS query
 *      awaiting its answer) or `max-packets` reached: the name learned from DNS for the server address,
 *      else the server port's well-known name, else unclassified.
 * A decided session is named once (`setApplication`: the ingress re-signals it, TLV 35) and not inspected
 * again. Packets are never changed or dropped.
 */
import type { PacketBatch, PacketFrame, PluginDataplaneContext, PluginStageRuntime } from '../../api.js';
import { HookCounter } from '../shared/counter.js';
import { withRow } from '../shared/rows.js';
import { DnsTable } from './dns-table.js';
import { learnFromResponse } from './dns.js';
import { httpHost } from './http.js';
import { hostName } from './names.js';
import type { AppidOptions } from './options.js';
import { HTTP_HOST, HTTP_PARTIAL, Span, TLS_PARTIAL, TLS_SNI } from './span.js';
import { clientHelloSni } from './tls.js';

export const COUNTERS = ['classified-sni', 'classified-http', 'classified-dns', 'classified-port', 'unclassified', 'dns-learned'] as const;
const C_SNI = 0;
const C_HTTP = 1;
const C_DNS = 2;
const C_PORT = 3;
const C_NONE = 4;
const C_LEARNED = 5;

const FRESH = 0;
const INSPECTING = 1;
const DONE = 2;

const TCP = 6;
const UDP = 17;
const DNS_PORT = 53;

export class Classifier {
  private phase = new Uint8Array(1024);
  private seen = new Uint8Array(1024);
  private readonly span = new Span();
  private readonly scratch = new Uint8Array(256);
  readonly dns: DnsTable;
  private readonly unclassifiedAtClose: HookCounter;

  constructor(private readonly ctx: PluginDataplaneContext, private readonly opts: AppidOptions) {
    this.dns = new DnsTable(opts.dnsCacheSize);
    this.unclassifiedAtClose = new HookCounter(ctx, 'unclassified');
  }

  /** Session hooks: fresh state for a new row; a session closing undecided counts as unclassified. */
  reset(row: number): void {
    if (row >= this.phase.length) {
      this.phase = withRow(this.phase, row);
      this.seen = withRow(this.seen, row);
    }
    this.phase[row] = FRESH;
    this.seen[row] = 0;
  }

  closed(row: number): void {
    if (row < this.phase.length && this.phase[row] === INSPECTING) this.unclassifiedAtClose.add();
    this.reset(row);
  }

  run(b: PacketBatch, f: PacketFrame, rt: PluginStageRuntime): void {
    this.dns.now = rt.now;
    for (let k = 0; k < f.n; k++) {
      const slot = f.slot[k]!;
      rt.next[slot] = this.ctx.PASS;
      const row = b.session[slot]!;
      if (row < 0) continue;
      if (row >= this.phase.length) this.reset(row); // a session older than this plugin
      if (this.phase[row] === DONE) continue;
      this.phase[row] = INSPECTING;
      this.inspect(b, slot, row, rt);
    }
  }

  private inspect(b: PacketBatch, slot: number, row: number, rt: PluginStageRuntime): void {
    const pi = b.info[slot]!;
    if (pi.end <= pi.payload) return; // handshakes and bare ACKs are not data
    const d = b.data;
    const reverse = (b.flags[slot]! & this.ctx.PF_REVERSE) !== 0;
    const serverPort = reverse ? pi.srcPort : pi.dstPort;
    this.seen[row]!++;
    let wait = false;
    if (pi.protocol === TCP && !reverse) {
      const tls = clientHelloSni(d, pi.payload, pi.end, this.span);
      if (tls === TLS_SNI && this.name(row, d, C_SNI, rt)) return;
      if (tls === TLS_PARTIAL) wait = true;
      else if (tls !== TLS_SNI) {
        const http = httpHost(d, pi.payload, pi.end, this.span);
        if (http === HTTP_HOST && this.name(row, d, C_HTTP, rt)) return;
        wait = http === HTTP_PARTIAL;
      }
    } else if (pi.protocol === UDP && serverPort === DNS_PORT) {
      if (reverse) {
        const n = learnFromResponse(d, pi.payload, pi.end, this.scratch, this.dns);
        if (n > 0) rt.count(C_LEARNED, n);
      } else {
        wait = true; // the query: its answer comes next
      }
    }
    if (wait && this.seen[row]! < this.opts.maxPackets) return;
    this.fallback(b, slot, row, reverse, serverPort, rt);
  }

  private name(row: number, d: Uint8Array, counter: number, rt: PluginStageRuntime): boolean {
    const name = hostName(d, this.span.start, this.span.len);
    if (name === null) return false;
    this.decide(row, name, counter, rt);
    return true;
  }

  private fallback(b: PacketBatch, slot: number, row: number, reverse: boolean, serverPort: number, rt: PluginStageRuntime): void {
    const pi = b.info[slot]!;
    if (pi.family === 4) {
      const at = reverse ? pi.srcOff : pi.dstOff;
      const d = b.data;
      const learned = this.dns.lookup(((d[at]! << 24) | (d[at + 1]! << 16) | (d[at + 2]! << 8) | d[at + 3]!) >>> 0, rt.now);
      if (learned !== '') return this.decide(row, learned, C_DNS, rt);
    }
    const byPort = pi.protocol === TCP || pi.protocol === UDP ? this.opts.ports.get(serverPort) : undefined;
    if (byPort !== undefined) return this.decide(row, byPort, C_PORT, rt);
    this.phase[row] = DONE;
    rt.count(C_NONE);
  }

  private decide(row: number, name: string, counter: number, rt: PluginStageRuntime): void {
    this.phase[row] = DONE;
    this.ctx.sessions.setApplication(row, name);
    rt.count(counter);
  }
}
