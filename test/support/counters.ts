/** Every packet a router receives ends exactly one way: sent, dropped for a reason, or consumed. */
export function unaccounted(c: Record<string, number>): number {
  let ended = 0;
  for (const [k, v] of Object.entries(c)) if (k.startsWith('drop-') || k.startsWith('consumed-')) ended += v;
  // a packet sent as N fragments is N transmitted packets
  const fragments = (c['fragments-sent'] ?? 0) - (c['packets-fragmented'] ?? 0);
  const originated = (c['health-checks-sent'] ?? 0) + (c['path-messages-sent'] ?? 0) + (c['packets-duplicated'] ?? 0) + fragments;
  return (c['rx-packets'] ?? 0) - (c['tx-packets'] ?? 0) - ended + originated;
}
