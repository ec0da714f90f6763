/**
 * Session-open and session-close hooks: synchronous calls into plugins when a session is about to be
 * installed (the plugin may refuse it, or choose a source/destination NAT for its LAN side) and when it
 * is removed (to free NAT ports, rate state, ...), and when a row is installed from the HA partner (to take
 * its NAT port). The core does the translation on every packet; the
 * plugin only decides. One reusable OpeningSession object: no allocation per session here.
 * A hook that throws is counted ('plugin-hook-errors') and reported, like a stage. A security function's
 * open hook (fail closed) then fails: the session is refused, and so is every new session while it is
 * failed ('drop-function-failed'; the plugin decides who may open sessions and what they are translated
 * to, and cannot now). Any other hook (or one configured `fail-open: true`) is disabled and skipped.
 */
import type { InstalledSession, OpeningSession, RefuseReply, SessionCloseHook, SessionInstalledHook, SessionOpenHook } from './plugin-contract.js';
import type { DataplaneContext } from './context.js';
import { loadAddress } from './flow-key.js';
import { ROLE_EGRESS, ROLE_INGRESS, SF_DNAT, SF_SNAT } from './session-table.js';

export interface HookEntry<F> {
  plugin: string;
  fn: F;
  disabled: boolean;
  /** a security function's hook: when it throws, sessions are refused instead of opened without it */
  failClosed?: boolean;
}

class Installed implements InstalledSession {
  row = -1;
  role: 'ingress' | 'egress' | 'local' = 'local';
  protocol = 0;
  family: 4 | 6 = 4;
  readonly natSource = new Uint8Array(16);
  natSourcePort = -1;
}

class Opening implements OpeningSession {
  row = -1;
  now = 0;
  role: 'ingress' | 'egress' | 'local' = 'local';
  tenant = -1;
  service = -1;
  protocol = 0;
  family: 4 | 6 = 4;
  inInterface = -1;
  outInterface = -1;
  readonly src = new Uint8Array(16);
  readonly dst = new Uint8Array(16);
  srcPort = 0;
  dstPort = 0;
  refusedBy = '';
  reply: RefuseReply = 'drop';
  snat = false;
  dnat = false;
  readonly natSrc = new Uint8Array(16);
  readonly natDst = new Uint8Array(16);
  natSrcPort = 0;
  natDstPort = 0;
  plugin = '';

  refuse(reply: RefuseReply = 'drop'): void {
    if (this.refusedBy !== '') return;
    this.refusedBy = this.plugin;
    this.reply = reply === 'reset' || reply === 'unreachable' ? reply : 'drop';
  }

  natSource(addr: Uint8Array, port: number): boolean {
    if (this.role === 'ingress' || addr.length !== (this.family === 6 ? 16 : 4)) return false;
    this.natSrc.set(addr);
    this.natSrcPort = port;
    this.snat = true;
    return true;
  }

  natDestination(addr: Uint8Array, port: number): boolean {
    if (this.role === 'ingress' || addr.length !== (this.family === 6 ? 16 : 4)) return false;
    this.natDst.set(addr);
    this.natDstPort = port;
    this.dnat = true;
    return true;
  }
}

export class SessionHooks {
  open: HookEntry<SessionOpenHook>[] = [];
  close: HookEntry<SessionCloseHook>[] = [];
  installed: HookEntry<SessionInstalledHook>[] = [];
  private readonly o = new Opening();
  private readonly i = new Installed();
  private cRefused = 0;
  private cErrors = 0;
  private cFailed = 0;
  /** a fail-closed open hook threw: no session opens until the plugins are loaded again */
  private failed = false;

  constructor(private readonly ctx: DataplaneContext) {
    this.cRefused = ctx.counters.id('drop-refused-by-plugin');
    this.cErrors = ctx.counters.id('plugin-hook-errors');
    this.cFailed = ctx.counters.id('drop-function-failed');
  }

  set(open: HookEntry<SessionOpenHook>[], close: HookEntry<SessionCloseHook>[], installed: HookEntry<SessionInstalledHook>[] = []): void {
    this.open = open;
    this.close = close;
    this.installed = installed;
    this.failed = false;
  }

  /**
   * Runs the open hooks for row r (its tenant, service, original tuple and interfaces already set).
   * Returns false when a plugin refused (counted); otherwise stores any NAT decisions in the row.
   */
  runOpen(r: number, now: number): boolean {
    if (this.open.length === 0) return true;
    if (this.failed) {
      this.ctx.counters.add(this.cFailed);
      return false;
    }
    const t = this.ctx.sessions;
    const o = this.o;
    o.row = r;
    o.now = now;
    o.role = roleOf(t.role[r]!);
    o.tenant = t.tenant[r]!;
    o.service = t.service[r]!;
    o.protocol = t.protocol[r]!;
    o.family = t.family[r] as 4 | 6;
    o.inInterface = t.inIf[r]!;
    o.outInterface = t.outIf[r]!;
    wordsOut(t.srcWords(r), t.wordsAt, o.family, o.src);
    wordsOut(t.dstWords(r), t.wordsAt, o.family, o.dst);
    o.srcPort = t.origSrcPort[r]!;
    o.dstPort = t.origDstPort[r]!;
    o.refusedBy = '';
    o.reply = 'drop';
    o.snat = false;
    o.dnat = false;
    for (const h of this.open) {
      if (h.disabled) continue;
      o.plugin = h.plugin;
      try {
        h.fn(o);
      } catch (e) {
        this.fail(h, 'session-open', e);
        if (h.failClosed === true) {
          this.failed = true;
          this.ctx.counters.add(this.cFailed);
          return false;
        }
      }
      if (o.refusedBy !== '') {
        this.ctx.counters.add(this.cRefused);
        this.ctx.counters.add(this.ctx.counters.id(`plugin.${o.refusedBy}.refused`));
        return false;
      }
    }
    let f = t.flags[r]!;
    if (o.snat || o.dnat) t.ensureNatColumns();
    if (o.snat) {
      loadAddress(o.natSrc, 0, o.family, t.natSrc, r * 4);
      t.natSrcPort[r] = o.natSrcPort;
      f |= SF_SNAT;
    }
    if (o.dnat) {
      loadAddress(o.natDst, 0, o.family, t.natDst, r * 4);
      t.natDstPort[r] = o.natDstPort;
      f |= SF_DNAT;
    }
    t.flags[r] = f;
    return true;
  }

  /** How the session runOpen last refused wants its first packet answered. */
  get refusedReply(): RefuseReply {
    return this.o.reply;
  }

  runClose(r: number): void {
    this.runEach(this.close, r, 'session-close');
  }

  /** Runs the installed hooks for row r, a row imported from the HA partner (between batches). */
  runInstalled(r: number): void {
    if (this.installed.length === 0) return;
    const t = this.ctx.sessions;
    const s = this.i;
    s.row = r;
    s.role = roleOf(t.role[r]!);
    s.protocol = t.protocol[r]!;
    s.family = t.family[r] as 4 | 6;
    const snat = (t.flags[r]! & SF_SNAT) !== 0;
    if (snat) wordsOut(t.natSrc, r * 4, s.family, s.natSource);
    s.natSourcePort = snat ? t.natSrcPort[r]! : -1;
    this.runEach(this.installed, s, 'session-installed');
  }

  /** Calls each enabled hook with `a`; one that throws is counted, reported and disabled. */
  private runEach<A>(hooks: readonly HookEntry<(a: A) => void>[], a: A, which: string): void {
    for (const h of hooks) {
      if (h.disabled) continue;
      try {
        h.fn(a);
      } catch (e) {
        this.fail(h, which, e);
      }
    }
  }

  private fail(h: HookEntry<unknown>, which: string, e: unknown): void {
    h.disabled = h.failClosed !== true || which !== 'session-open'; // a failed open hook stays: it refuses
    this.ctx.counters.add(this.cErrors);
    this.ctx.events.push({ kind: 'plugin.error', plugin: h.plugin, stage: which, message: `threw: ${e instanceof Error ? e.message : String(e)}`, failClosed: h.failClosed === true && which === 'session-open' });
  }
}

function roleOf(role: number): 'ingress' | 'egress' | 'local' {
  return role === ROLE_INGRESS ? 'ingress' : role === ROLE_EGRESS ? 'egress' : 'local';
}

function wordsOut(w: Uint32Array, at: number, family: 4 | 6, out: Uint8Array): void {
  for (let i = 0; i < 4; i++) {
    const v = family === 6 || i === 0 ? w[at + i]! : 0;
    out[4 * i] = v >>> 24;
    out[4 * i + 1] = (v >>> 16) & 0xff;
    out[4 * i + 2] = (v >>> 8) & 0xff;
    out[4 * i + 3] = v & 0xff;
  }
}
