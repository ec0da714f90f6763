/**
 * `svr lab up --wan-mtu N`: every WAN path carries at most N-byte packets and ICMP is filtered on it, as on
 * real paths through tunnels or PPPoE whose routers' "fragmentation needed" never arrives (docs/wan.md
 * "Path MTU"). The MTU is set on r2's side of each path (its veth and the link namespace's end toward it),
 * so both directions are limited in the middle of the path while the routers' own interfaces keep 1700:
 * only path MTU discovery can tell. nftables in each link namespace drops every ICMP packet the namespace
 * forwards or sends.
 */
import { ip, runIn } from './run.js';
import type { Progress } from './netns.js';
import { LINK_DEV_R2, nsName, pathPlans } from './topology.js';

const NFT_TABLE = 'svrlab_mtu';

export async function limitWanMtu(prefix: string, paths: number, mtu: number, progress: Progress): Promise<void> {
  progress(`WAN paths limited to ${mtu} bytes in the middle (r2's side), ICMP dropped on the links`);
  for (const p of pathPlans(prefix, paths)) {
    await ip(p.namespace, ['link', 'set', 'dev', LINK_DEV_R2, 'mtu', String(mtu)]);
    await ip(nsName(prefix, 'r2'), ['link', 'set', 'dev', p.r2Dev, 'mtu', String(mtu)]);
    await runIn(p.namespace, 'nft', ['add', 'table', 'inet', NFT_TABLE]);
    for (const [chain, hook] of [['forward', 'forward'], ['output', 'output']] as const) {
      await runIn(p.namespace, 'nft', ['add', 'chain', 'inet', NFT_TABLE, chain, `{ type filter hook ${hook} priority 0; policy accept; }`]);
      await runIn(p.namespace, 'nft', ['add', 'rule', 'inet', NFT_TABLE, chain, 'meta', 'l4proto', '{ icmp, ipv6-icmp }', 'counter', 'drop']);
    }
  }
}
