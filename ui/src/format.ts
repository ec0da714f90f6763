/** Numbers, times and 5-tuples as the pages show them. */
export const ms = (x: number | null | undefined, digits = 1): string => (x == null ? '–' : `${x.toFixed(digits)} ms`);
export const pct = (x: number | null | undefined): string => (x == null ? '–' : `${x.toFixed(2)} %`);
export const mos = (x: number | null | undefined): string => (x == null ? '–' : x.toFixed(2));

export function bytes(n: number): string {
  if (n < 1024) return `${n} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let v = n / 1024;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return `${v.toFixed(1)} ${units[u]}`;
}

export function age(msAgo: number): string {
  const s = Math.max(0, Math.round(msAgo / 1000));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  if (s < 86400) return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
  return `${Math.floor(s / 86400)}d${Math.floor((s % 86400) / 3600)}h`;
}

/** `2026-12-04 20:52:48` in local time. */
export function time(t: string | number | null | undefined): string {
  if (t == null || t === '') return '–';
  const d = new Date(t);
  if (Number.isNaN(d.getTime())) return String(t);
  const p = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}

export const since = (t: string | number | null | undefined): string => (t == null || t === '' ? '–' : `${age(Date.now() - new Date(t).getTime())} ago`);

export interface Tuple {
  src: string;
  dst: string;
  srcPort: number;
  dstPort: number;
  protocol: string | number;
}

const PROTOCOLS: Record<number, string> = { 1: 'icmp', 6: 'tcp', 17: 'udp', 58: 'icmpv6' };
const proto = (p: string | number): string => (typeof p === 'number' ? (PROTOCOLS[p] ?? String(p)) : p);

export const tuple = (t: Tuple | undefined | null): string => (t == null ? '–' : `${proto(t.protocol)} ${t.src}:${t.srcPort} → ${t.dst}:${t.dstPort}`);
