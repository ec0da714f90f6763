/** Every packet a router receives ends exactly one way: sent, dropped for a reason, or consumed. */
export function unaccounted(c: Record<string, number>): number {
  let dropped = 0;
  for (const [k, v] of Object.entries(c)) if (k.startsWith('drop-')) dropped += v;
  return (c['rx-packets'] ?? 0) - (c['tx-packets'] ?? 0) - dropped - (c['consumed-control-messages'] ?? 0) + (c['health-checks-sent'] ?? 0);
}
