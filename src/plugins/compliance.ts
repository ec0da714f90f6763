/**
 * The plugin compliance suite (architecture §5.6, after libp2p's interface-compliance-tests), imported as
 * 'svrouter/plugins/compliance'. It loads the plugin's data-path part into a data path of its own and checks:
 * every stage, built-in or third-party, must
 *   1. handle an empty frame without touching anything;
 *   2. give every slot of its frame an outcome (PASS or DROP) and touch no slot outside it;
 *   3. allocate nothing per packet: the heap grows by less than `maxHeapGrowthBytes` over 100,000 packets (in
 *      one of up to 10 runs, once the stage's code is optimized);
 * and the session hooks (onSessionOpen / onSessionClose / onSessionInstalled) must
 *   4. not throw, for every role (ingress, egress, local), family and protocol (TCP, UDP, ICMP);
 *   5. release on close what they took on open or install: after 100,000 sessions opened and closed
 *      (refused or not; every fourth also installed again, as a row from the HA partner carrying what its
 *      open decided, then closed) and a garbage collection, the heap holds less than `maxHeapGrowthBytes` more.
 * Its router has LAN interfaces lan0, lan1 and function interfaces sfc-out, sfc-in (for stages that divert).
 * `report.checked` says what was checked (nothing, for a plugin with only a control part).
 *
 * @example
 *   import { checkPluginCompliance } from 'svrouter/plugins/compliance';
 *   const report = await checkPluginCompliance(plugin, { my: 'options' });
 *   assert.ok(report.ok, report.failures.join('\n'));
 */
import { getHeapSpaceStatistics, setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { Batch, Frame, MAX_BATCH } from '../dataplane/batch.js';
import type { ChainStageEntry } from '../dataplane/chain.js';
import { Dataplane } from '../dataplane/dataplane.js';
import { parseAddress } from '../packet/addr.js';
import { compileRouter } from '../model/compile.js';
import { parseConfig } from '../model/validate.js';
import { buildTcp, buildUdp } from '../packet/build.js';
import { PROTO_ICMP, PROTO_TCP, PROTO_UDP, TCP_ACK, parsePacket } from '../packet/ip.js';
import { ROLE_EGRESS, ROLE_INGRESS, ROLE_LOCAL } from '../dataplane/session-table.js';
import type { PluginStageRuntime, RouterPlugin } from './api.js';
import { pluginDataplaneContext, type PluginHookSet } from './host.js';

export interface ComplianceReport {
  /** true when nothing failed */
  ok: boolean;
  /** what failed, one line each: `<plugin>/<stage>: ...`, `<plugin>/session-open: ...` */
  failures: string[];
  /** what was checked: the stages' full names and `<plugin>/session-hooks` */
  checked: string[];
  stages: string[];
  /** per stage: heap growth over 100,000 packets; `<plugin>/session-hooks`: retained after 100,000 sessions */
  heapGrowthBytes: Record<string, number>;
}

const CONFIG = `
authority:
  name: compliance
  tenants: [{ name: t, members: [198.18.1.0/24] }]
  services:
    - { name: s, addresses: [198.18.3.0/24], access-policy: [{ source: t }] }
  routers:
    - name: r
      interfaces: [{ name: lan0, kind: lan }, { name: lan1, kind: lan }, { name: sfc-out, kind: function }, { name: sfc-in, kind: function }]
      service-routes: [{ name: s, service: s, next-hop: { interface: lan1 } }]
`;

/**
 * Runs of 100,000 packets the allocation check may take: the stage passes when one of them stays within the
 * budget. Until the compiler's thread has installed the stage's optimized code (seconds at load 20), its
 * unoptimized code boxes numbers (12-16 bytes a packet); a stage that allocates per packet does so in every run.
 */
const ALLOC_WINDOWS = 10;

/** Heap in use, without the code space: JIT-compiled code is not allocation by the stage. */
function heapWithoutCode(): number {
  return getHeapSpaceStatistics().filter((sp) => sp.space_name !== 'code_space').reduce((n, sp) => n + sp.space_used_size, 0);
}

function gcFunction(): () => void {
  setFlagsFromString('--expose-gc');
  return runInNewContext('gc') as () => void;
}

/** A batch of MAX_BATCH mixed UDP/TCP packets, both directions, all on session row `row`. */
function fillBatch(b: Batch, row: number): void {
  const c = parseAddress('198.18.1.10')!.bytes;
  const s = parseAddress('198.18.3.20')!.bytes;
  const packets = [
    buildUdp({ src: c, dst: s, srcPort: 40000, dstPort: 53, payload: new Uint8Array(64) }),
    buildUdp({ src: s, dst: c, srcPort: 53, dstPort: 40000, payload: new Uint8Array(200) }),
    buildTcp({ src: c, dst: s, srcPort: 40001, dstPort: 443, seq: 1, ack: 1, flags: TCP_ACK, payload: new Uint8Array(1200).fill(0x16) }),
  ];
  const all = new Uint8Array(packets.reduce((n, p) => n + p.length, 0));
  const off = new Uint32Array(packets.length);
  const len = new Uint32Array(packets.length);
  let at = 0;
  packets.forEach((p, i) => {
    all.set(p, at);
    off[i] = at;
    len[i] = p.length;
    at += p.length;
  });
  b.reset();
  for (let i = 0; i < MAX_BATCH; i++) b.fill(0, all, off, len, i % packets.length, 1);
  for (let i = 0; i < b.count; i++) {
    parsePacket(b.data, b.off[i]!, b.len[i]!, b.info[i]!);
    b.session[i] = row;
    if (i % 3 === 1) b.flags[i] |= 1; // PF_REVERSE
  }
}

export async function checkPluginCompliance<O>(plugin: RouterPlugin<O>, rawOptions: unknown = {}, maxHeapGrowthBytes = 256 * 1024): Promise<ComplianceReport> {
  const failures: string[] = [];
  const dp = new Dataplane({ tables: compileRouter(parseConfig(CONFIG), 'r', 1), ports: [null, null, null, null] });
  const t = dp.sessions;
  const row = t.alloc(0);
  t.role[row] = ROLE_LOCAL;
  t.protocol[row] = PROTO_TCP;
  t.setClass(row, 0, 0);
  const entries: ChainStageEntry[] = [];
  const hooks: PluginHookSet = { open: [], close: [] };
  const opts = plugin.options ? plugin.options(rawOptions) : (rawOptions as O);
  plugin.dataplane?.(pluginDataplaneContext(dp, plugin.name, entries, hooks), opts);
  const gc = gcFunction();
  const heapGrowthBytes: Record<string, number> = {};
  const b = new Batch();
  const f = new Frame();
  const next = new Uint8Array(MAX_BATCH);
  const rt: PluginStageRuntime = { next, now: 0, count: () => {} };
  for (const e of entries) {
    const name = e.fullName;
    try {
      // 1. empty frame
      fillBatch(b, row);
      const before = Buffer.from(b.data.subarray(0, 4096));
      f.n = 0;
      next.fill(255);
      e.stage.run(b, f, rt);
      if (next.some((v) => v !== 255) || !before.equals(Buffer.from(b.data.subarray(0, 4096)))) failures.push(`${name}: touched something on an empty frame`);
      // 2. outcomes for the frame's slots only (every other slot)
      f.n = 0;
      for (let s = 0; s < b.count; s += 2) f.slot[f.n++] = s;
      next.fill(255);
      e.stage.run(b, f, rt);
      for (let s = 0; s < b.count; s++) {
        const inFrame = s % 2 === 0;
        if (inFrame && next[s] !== 0 && next[s] !== 1) {
          failures.push(`${name}: slot ${s} got outcome ${next[s]} (must be PASS=0 or DROP=1)`);
          break;
        }
        if (!inFrame && next[s] !== 255) {
          failures.push(`${name}: wrote an outcome for slot ${s}, which is not in its frame`);
          break;
        }
      }
      // 3. no allocation per packet: 100,000 packets after a warm-up
      f.n = 0;
      for (let s = 0; s < b.count; s++) f.slot[f.n++] = s;
      for (let i = 0; i < 200; i++) e.stage.run(b, f, rt);
      gc();
      for (let i = 0; i < 20; i++) e.stage.run(b, f, rt); // settle after the collection
      const rounds = Math.ceil(100_000 / f.n);
      let grew = Infinity;
      for (let w = 0; w < ALLOC_WINDOWS && grew > maxHeapGrowthBytes; w++) {
        if (w > 0) await new Promise((r) => setTimeout(r, 100)); // the compiler's thread finishes the stage's optimized code
        const h0 = heapWithoutCode();
        for (let i = 0; i < rounds; i++) e.stage.run(b, f, rt);
        grew = Math.min(grew, heapWithoutCode() - h0);
      }
      heapGrowthBytes[name] = Math.max(0, grew);
      if (grew > maxHeapGrowthBytes) failures.push(`${name}: heap grew ${grew} bytes over 100,000 packets, in each of ${ALLOC_WINDOWS} runs (allocates per packet?)`);
    } catch (err) {
      failures.push(`${name}: threw ${err instanceof Error ? err.message : String(err)}`);
    }
  }
  const checked = entries.map((e) => e.fullName);
  if (hooks.open.length + hooks.close.length + (hooks.installed?.length ?? 0) > 0) {
    checked.push(`${plugin.name}/session-hooks`);
    checkHooks(dp, plugin.name, hooks, gc, maxHeapGrowthBytes, failures, heapGrowthBytes);
  }
  return { ok: failures.length === 0, failures, checked, stages: entries.map((e) => e.fullName), heapGrowthBytes };
}

const ROLES = [ROLE_INGRESS, ROLE_EGRESS, ROLE_LOCAL] as const;
const PROTOCOLS = [PROTO_TCP, PROTO_UDP, PROTO_ICMP] as const;

/** 4 and 5: the session hooks over every role, family and protocol; what they keep after 100,000 sessions. */
function checkHooks(dp: Dataplane, plugin: string, hooks: PluginHookSet, gc: () => void, maxHeapGrowthBytes: number, failures: string[], heap: Record<string, number>): void {
  const ctx = dp.ctx;
  const t = ctx.sessions;
  ctx.hooks.set(hooks.open, hooks.close, hooks.installed);
  const src = [parseAddress('198.18.1.10')!.bytes, parseAddress('2001:db8:1::10')!.bytes];
  const dst = [parseAddress('198.18.3.20')!.bytes, parseAddress('2001:db8:3::20')!.bytes];
  const open = (i: number, now: number): void => {
    const r = t.alloc(now);
    const fam = i % 2 === 0 ? 4 : 6;
    t.role[r] = ROLES[i % 3]!;
    t.protocol[r] = PROTOCOLS[(i >> 1) % 3]!;
    t.setClass(r, 0, 0);
    t.inIf[r] = 0;
    t.outIf[r] = 1;
    t.setOrigin(r, fam, src[fam === 4 ? 0 : 1]!, 0, 0, dst[fam === 4 ? 0 : 1]!);
    t.origSrcPort[r] = 1024 + (i % 60000);
    t.origDstPort[r] = [80, 443, 23, 53][i % 4]!;
    ctx.hooks.runOpen(r, now);
    ctx.hooks.runClose(r);
    if (i % 4 === 3) {
      ctx.hooks.runInstalled(r); // the row again, as the partner's at a takeover (its NAT decisions kept)
      ctx.hooks.runClose(r);
    }
    t.remove(r);
    if (i % 256 === 255) {
      ctx.channels.flush(ctx.events, now); // what a batch end does with records the hooks sent
      for (const e of ctx.events) if (e.kind === 'plugin.error') errors.push(`${plugin}/${e.stage}: ${e.message}`);
      ctx.events.length = 0;
    }
  };
  const errors: string[] = [];
  const name = `${plugin}/session-hooks`;
  for (let i = 0; i < 2048; i++) open(i, i);
  if (dp.counters.get('plugin-hook-errors') > 0) {
    failures.push(...(errors.length > 0 ? errors : [`${name}: a hook threw`]));
    return;
  }
  gc();
  const h0 = heapWithoutCode();
  for (let i = 0; i < 100_000; i++) open(i, 2000 + i);
  ctx.events.length = 0;
  gc();
  const h1 = heapWithoutCode();
  heap[name] = Math.max(0, h1 - h0);
  if (h1 - h0 > maxHeapGrowthBytes) failures.push(`${name}: the heap kept ${h1 - h0} bytes after 100,000 sessions opened and closed (does onSessionClose release what onSessionOpen and onSessionInstalled took?)`);
  if (dp.counters.get('plugin-hook-errors') > 0) failures.push(`${name}: a hook threw`);
}
