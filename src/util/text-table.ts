/** Plain-text tables for `svr show` (no colours, aligned columns, one header line). */
export function renderTable(headers: readonly string[], rows: readonly (readonly (string | number)[])[]): string {
  const cells = rows.map((r) => r.map((c) => String(c)));
  const widths = headers.map((h, i) => Math.max(h.length, ...cells.map((r) => (r[i] ?? '').length)));
  const line = (r: readonly string[]) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join('  ').trimEnd();
  return [line(headers), ...cells.map(line)].join('\n');
}

/** 1536 -> "1.5K", 10485760 -> "10.0M" */
export function humanBytes(n: number): string {
  if (n < 1024) return String(n);
  const units = ['K', 'M', 'G', 'T'];
  let v = n;
  let u = -1;
  do {
    v /= 1024;
    u++;
  } while (v >= 1024 && u < units.length - 1);
  return `${v.toFixed(1)}${units[u]}`;
}

/** 93000 -> "1m33s" */
export function humanDuration(ms: number): string {
  const s = Math.floor(ms / 1000);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

/** bits/s in SI units: 20000000 -> "20M", 2500000000 -> "2.5G" */
export function humanRate(bitsPerSecond: number): string {
  for (const [unit, f] of [['G', 1e9], ['M', 1e6], ['k', 1e3]] as const) {
    if (bitsPerSecond >= f) return `${Number((bitsPerSecond / f).toFixed(2))}${unit}`;
  }
  return String(bitsPerSecond);
}
