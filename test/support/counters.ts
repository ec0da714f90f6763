/** Every packet a router receives ends exactly one way: sent, dropped for a reason, or consumed. */
export function unaccounted(c: Record<string, number>): number {
  let ended = 0;
  for (const [k, v] of Object.entries(c)) if (k.startsWith('drop-') || k.startsWith('consumed-')) ended += v;
  // a packet sent as N fragments is N transmitted packets
  const fragments = (c['fragments-sent'] ?? 0) - (c['packets-fragmented'] ?? 0) + (c['lan-fragments-sent'] ?? 0) - (c['lan-packets-fragmented'] ?? 0);
  // an ICMP too big is the dropped packet turned around (drop-exceeds-path-mtu counted it): one more sent
  const originated = (c['health-checks-sent'] ?? 0) + (c['path-messages-sent'] ?? 0) + (c['packets-duplicated'] ?? 0) + fragments + (c['icmp-too-big-sent'] ?? 0);
  return (c['rx-packets'] ?? 0) - (c['tx-packets'] ?? 0) - ended + originated;
}
