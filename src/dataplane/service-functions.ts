/**
 * Service functions: external network functions (a Linux namespace, an inspection box) a chain stage
 * sends a session's packets through. A plugin registers one (its diverting stage, its `kind: function`
 * out and return interfaces); its stage calls `divert` per packet:
 *   divert -> return key (return interface, 5-tuple as sent) -> row, installed on first use
 *          -> the packet leaves through the out interface (PF_DIVERTED; plugin-stage sends it to tx);
 *   back on the return interface: decode (no second TTL decrement) -> session-lookup finds the row by
 *   that key -> function-return resumes the chain after the diverting stage.
 * Names are resolved to interface indexes and chain bits between batches (tables, stages, registrations).
 */
import type { ForwardingTables } from '../model/tables.js';
import { PF_DIVERTED, PF_REVERSE, type Batch } from './batch.js';
import type { ChainTable } from './chain.js';
import { writeKeyFromBytes } from './flow-key.js';
import type { SessionTable } from './session-table.js';

export interface ServiceFunctionSpec {
  /** full name of the diverting stage: returned packets resume the chain after it */
  readonly stage: string;
  /** `kind: function` interface names */
  readonly out: string;
  readonly in: string;
  /** counter ids for packets back from the function, and for those that match no session (-1: none) */
  readonly returned?: number;
  readonly noSession?: number;
}

export class ServiceFunctions {
  private specs: (ServiceFunctionSpec | null)[] = [];
  /** per function id: interface indexes (-1 unresolved), chain bit of its stage, counter ids */
  out = new Int16Array(0);
  in = new Int16Array(0);
  bit = new Int8Array(0);
  returned = new Int32Array(0);
  noSession = new Int32Array(0);
  /** per interface: 1 when `kind: function`; the function returning there (-1 none) */
  isFunction = new Uint8Array(0);
  byReturnIf = new Int16Array(0);
  /** some function is registered: plugin stages look for diverted packets */
  diverting = false;

  /** Registers a function (load time); returns its id for divert. */
  add(spec: ServiceFunctionSpec): number {
    this.specs.push(spec);
    return this.specs.length - 1;
  }

  /** Forgets every function whose id is not in `keep` (plugins unloaded). */
  retain(keep: ReadonlySet<number>): void {
    for (let id = 0; id < this.specs.length; id++) if (!keep.has(id)) this.specs[id] = null;
  }

  /** Names -> indexes and bits, between batches. */
  resolve(tables: ForwardingTables, chains: ChainTable): void {
    const n = this.specs.length;
    const nIf = tables.interfaces.length;
    this.out = new Int16Array(n).fill(-1);
    this.in = new Int16Array(n).fill(-1);
    this.bit = new Int8Array(n).fill(-1);
    this.returned = new Int32Array(n).fill(-1);
    this.noSession = new Int32Array(n).fill(-1);
    this.isFunction = Uint8Array.from(tables.interfaces, (i) => (i.kind === 'function' ? 1 : 0));
    this.byReturnIf = new Int16Array(nIf).fill(-1);
    const fnIf = (name: string) => {
      const i = tables.interfaceIndex(name);
      return i >= 0 && this.isFunction[i] === 1 ? i : -1;
    };
    this.specs.forEach((f, id) => {
      if (f === null) return;
      this.out[id] = fnIf(f.out);
      this.in[id] = fnIf(f.in);
      this.bit[id] = chains.bit(f.stage);
      this.returned[id] = f.returned ?? -1;
      this.noSession[id] = f.noSession ?? -1;
      if (this.in[id]! >= 0) this.byReturnIf[this.in[id]!] = id;
    });
    this.diverting = this.specs.some((f) => f !== null);
  }

  /**
   * Hot: sends the packet in `slot` (of an active session, in the form the chain sees) to function `id`
   * instead of along its chain, after making sure its return key leads back to the session. false when
   * the function's interfaces are not configured or the key belongs to another session (the caller drops).
   */
  divert(t: SessionTable, b: Batch, s: number, id: number): boolean {
    const out = this.out[id] ?? -1;
    const ret = this.in[id] ?? -1;
    const r = b.session[s]!;
    if (out < 0 || ret < 0 || !t.isActive(r)) return false;
    const pi = b.info[s]!;
    const swapped = writeKeyFromBytes(t.keyScratch(pi.family), pi.family, b.data, pi.srcOff, pi.dstOff, pi.srcPort, pi.dstPort, pi.protocol, ret);
    const fwdSwapped = (b.flags[s]! & PF_REVERSE) !== 0 ? swapped ^ 1 : swapped;
    if (!t.ensureReturnKey(r, pi.family, fwdSwapped)) return false;
    b.ifIndex[s] = out;
    b.flags[s] |= PF_DIVERTED;
    return true;
  }
}
