/** Every packet a router receives ends exactly one way: sent, dropped for a reason, or consumed. */
export function unaccounted(c: Record<string, number>): number {
  let ended = 0;
  for (const [k, v] of Object.entries(c)) if (k.startsWith('drop-') || k.startsWith('consumed-')) ended += v;
  const originated = (c['health-checks-sent'] ?? 0) + (c['path-messages-sent'] ?? 0) + (c['packets-duplicated'] ?? 0);
  return (c['rx-packets'] ?? 0) - (c['tx-packets'] ?? 0) - ended + originated;
}
