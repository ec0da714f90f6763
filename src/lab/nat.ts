/**
 * `svr lab up --nat`: r1 behind a NAT box on path 1 (docs/wan.md). A namespace `<prefix>-nat` sits between
 * r1 and path 1's link emulator and masquerades everything r1 sends to the WAN with nftables (Debian
 * `nftables`), so r2 sees r1's packets come from 198.18.29.1 and a translated port, never from r1's
 * waypoint 198.18.12.1, and r2 has no route to that waypoint: r1 peers outbound-only.
 *
 *   r1 r1-r2 198.18.21.1 --- nt-r1 198.18.21.254 [<prefix>-nat: masquerade out of nt-wan] nt-wan 198.18.29.1 --- lk-r1 198.18.29.254 [link1] --- r2
 *
 * Built on top of the plain lab: path 1's r1-side veth is replaced by the two through the NAT box (path-box.ts).
 * `svr lab nat-rebind` forces a rebinding as a real NAT does it: the masquerade port range changes and the
 * conntrack table is flushed, so every binding (BFD's and each session's) gets a new public port.
 */
import { SvrError } from '../errors.js';
import type { Progress } from './netns.js';
import { boxDevices, BOX_PUBLIC, insertPathBox } from './path-box.js';
import { ip, run, runIn, svrScript } from './run.js';
import { CLIENT, HTTP_PORT, nsName, pathPlan, STREAM_PORT, type NatPlace } from './topology.js';
import type { Launch } from './launch.js';

export const NAT_ROLE: NatPlace = 'nat';
/** The branch server behind r1 (the client's address; `svr lab serve` there): the `branch` service. */
export const BRANCH_SERVER = CLIENT;
/** The NAT box's address toward the WAN: r2 sees r1 here. */
export const NAT_PUBLIC = BOX_PUBLIC;
const NAT_DEVICES = boxDevices('nt');
/** The masquerade's port ranges: `nat-rebind` switches between them. */
export const NAT_PORT_RANGES = ['20000-29999', '30000-39999'] as const;
const NFT_TABLE = 'svrlab';

/** `nft add rule ...`: masquerade what leaves toward the WAN, to ports in `range`. */
function masquerade(range: string): string[] {
  return ['add', 'rule', 'ip', NFT_TABLE, 'postrouting', 'oifname', NAT_DEVICES.wan, 'meta', 'l4proto', '{ tcp, udp }', 'masquerade', 'to', `:${range}`];
}

/** Puts path 1 of the built lab behind `<prefix>-nat` (the plain network must exist). */
export async function buildNatNetwork(prefix: string, progress: Progress): Promise<void> {
  const ns = nsName(prefix, NAT_ROLE);
  const r2 = nsName(prefix, 'r2');
  const p = pathPlan(prefix, 1);
  progress(`NAT box ${ns} on path 1: r1 behind nftables masquerade to ${NAT_PUBLIC} ports ${NAT_PORT_RANGES[0]}`);
  await insertPathBox(prefix, NAT_ROLE, 'nt');
  // r2 reaches the NAT's public side only: r1's waypoint is private
  await ip(r2, ['route', 'del', `${p.waypoints.r1}/32`]);
  await ip(r2, ['route', 'del', '198.18.21.0/24']);
  await ip(r2, ['route', 'add', '198.18.29.0/24', 'via', p.linkR2Address.slice(0, p.linkR2Address.indexOf('/')), 'dev', p.r2Dev]);
  await runIn(ns, 'nft', ['add', 'table', 'ip', NFT_TABLE]);
  await runIn(ns, 'nft', ['add', 'chain', 'ip', NFT_TABLE, 'postrouting', '{ type nat hook postrouting priority srcnat; policy accept; }']);
  await runIn(ns, 'nft', masquerade(NAT_PORT_RANGES[0]));
}

/** The masquerade's current port range, from the ruleset. */
export async function natPortRange(prefix: string): Promise<string> {
  const { stdout } = await runIn(nsName(prefix, NAT_ROLE), 'nft', ['list', 'table', 'ip', NFT_TABLE]);
  const range = NAT_PORT_RANGES.find((r) => stdout.includes(r));
  if (range === undefined) throw new SvrError('SVR_ERR_LAB_STATE', `no masquerade rule in ${nsName(prefix, NAT_ROLE)} (table ip ${NFT_TABLE}); was the lab started with --nat?`);
  return range;
}

/**
 * Forces a NAT rebinding: the other port range, then the conntrack table flushed (conntrack -F), so the
 * next packet of every flow gets a new public port. Resolves with the new range.
 */
export async function natRebind(prefix: string): Promise<{ from: string; to: string }> {
  const ns = nsName(prefix, NAT_ROLE);
  const from = await natPortRange(prefix);
  const to = NAT_PORT_RANGES.find((r) => r !== from)!;
  // one nft transaction: no packet ever sees the chain without its rule (it would leave untranslated)
  await runIn(ns, 'nft', ['flush', 'chain', 'ip', NFT_TABLE, 'postrouting', ';', ...masquerade(to)]);
  await runIn(ns, 'conntrack', ['-F']).catch(async (e: unknown) => {
    // conntrack -F exits 1 when the table was empty already on some versions; anything else is real
    const { stdout } = await run('ip', ['netns', 'exec', ns, 'conntrack', '-C']).catch(() => ({ stdout: '' }));
    if (stdout.trim() !== '0') throw e;
  });
  return { from, to };
}

/**
 * `--nat`: `svr lab serve` on the client's address (HTTP and the UDP stream receiver) in <prefix>-client: the
 * server side reaches it through r2, which opens those sessions toward r1 behind the NAT (docs/wan.md).
 */
export function branchServerLaunch(prefix: string): Launch {
  const args = [svrScript(), 'lab', 'serve', '--lab', `${prefix}-branch`, '--http', `${BRANCH_SERVER}:${HTTP_PORT}`, '--udp', 'off', '--stream', `${BRANCH_SERVER}:${STREAM_PORT}`];
  return { name: 'branch-server', kind: 'server', role: 'client', cmd: process.execPath, args, markers: ['svr.js', 'serve', '--lab', `${prefix}-branch`] };
}
