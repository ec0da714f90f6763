/**
 * `svr lab up --middlebox`: a stateful firewall on path 1 that breaks SVR's TCP (docs/wan.md "UDP
 * transform"). A namespace `<prefix>-middlebox` sits between r1 and path 1's link emulator (path-box.ts)
 * and filters what it forwards with nftables (Debian `nftables`) and conntrack, as firewalls in front of
 * branch sites do:
 *   - TCP that conntrack calls invalid is dropped;
 *   - a TCP segment that opens no tracked connection (no SYN seen: mid-flow) is dropped;
 *   - a SYN or SYN-ACK carrying data (longer than 80 bytes of IP: what SVR metadata makes it) is dropped.
 * UDP passes, so BFD and the path control channel work, and so does TCP under UDP transform.
 * `setMiddleboxRules(prefix, false)` empties the chain (the firewall is gone), `true` puts the rules back;
 * `'toward-r1'` applies them only to what comes from the WAN side (r2's TCP to r1), a firewall that drops
 * only the peer's TCP: r1's probes get through, r2's do not (docs/wan.md "UDP transform").
 */
import type { Progress } from './netns.js';
import { BOX_PUBLIC, boxDevices, insertPathBox } from './path-box.js';
import { ip, runIn } from './run.js';
import { nsName, pathPlan, type MiddleboxPlace } from './topology.js';

export const MIDDLEBOX_ROLE: MiddleboxPlace = 'middlebox';
const NFT_TABLE = 'svrlab_mb';
const BOX_DEV = 'mb';
const CHAIN = 'forward';

/** The filter rules, as `nft add rule inet svrlab_mb forward ...` arguments. */
export const MIDDLEBOX_RULES: readonly (readonly string[])[] = [
  ['ct', 'state', 'invalid', 'meta', 'l4proto', 'tcp', 'counter', 'drop'],
  ['tcp', 'flags', '&', '(fin|syn|rst|ack)', '!=', 'syn', 'ct', 'state', 'new', 'counter', 'drop'],
  ['tcp', 'flags', '&', 'syn', '==', 'syn', 'ip', 'length', '>', '80', 'counter', 'drop'],
];

/** Puts the middlebox on path 1 of the built lab (the plain network must exist), rules on. */
export async function buildMiddlebox(prefix: string, progress: Progress): Promise<void> {
  const ns = nsName(prefix, MIDDLEBOX_ROLE);
  progress(`middlebox ${ns} on path 1: nftables drops mid-flow TCP and SYNs carrying data (UDP passes)`);
  await insertPathBox(prefix, MIDDLEBOX_ROLE, BOX_DEV);
  // no NAT: the link emulator sends r1's waypoint (r2's packets to it) back through the box
  const p = pathPlan(prefix, 1);
  await ip(p.namespace, ['route', 'add', `${p.waypoints.r1}/32`, 'via', BOX_PUBLIC, 'dev', 'lk-r1']);
  await runIn(ns, 'nft', ['add', 'table', 'inet', NFT_TABLE]);
  await runIn(ns, 'nft', ['add', 'chain', 'inet', NFT_TABLE, CHAIN, '{ type filter hook forward priority 0; policy accept; }']);
  await setMiddleboxRules(prefix, true);
}

/** The firewall on (its rules; `toward-r1`: only on what r2 sends) or off (an empty chain), in one nft transaction. */
export async function setMiddleboxRules(prefix: string, on: boolean | 'toward-r1'): Promise<void> {
  const only = on === 'toward-r1' ? ['iifname', boxDevices(BOX_DEV).wan] : [];
  const rules = on !== false ? MIDDLEBOX_RULES.flatMap((r) => [';', 'add', 'rule', 'inet', NFT_TABLE, CHAIN, ...only, ...r]) : [];
  await runIn(nsName(prefix, MIDDLEBOX_ROLE), 'nft', ['flush', 'chain', 'inet', NFT_TABLE, CHAIN, ...rules]);
}

/** Packets each rule dropped so far (nft's counters, in MIDDLEBOX_RULES order). */
export async function middleboxDrops(prefix: string): Promise<number[]> {
  const { stdout } = await runIn(nsName(prefix, MIDDLEBOX_ROLE), 'nft', ['list', 'chain', 'inet', NFT_TABLE, CHAIN]);
  return [...stdout.matchAll(/counter packets (\d+)/g)].map((m) => Number(m[1]));
}
