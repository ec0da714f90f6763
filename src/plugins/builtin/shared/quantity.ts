/** Rates and sizes in plugin options: a number, or text with an SI suffix ("10M", "2.5k", "1G"). */
import { PluginOptionsError } from '../../api.js';

const SI: Readonly<Record<string, number>> = { '': 1, k: 1e3, K: 1e3, m: 1e6, M: 1e6, g: 1e9, G: 1e9 };

/** A positive quantity (the unit is the field's: bits/s for rates, bytes for bursts); `undefined` gives `fallback`. */
export function quantity(v: unknown, path: string, fallback: number, max = 1e12): number {
  if (v === undefined) return fallback;
  let n = Number.NaN;
  if (typeof v === 'number') n = v;
  else if (typeof v === 'string') {
    const m = /^\s*(\d+(?:\.\d+)?)\s*([kKmMgG]?)\s*$/.exec(v);
    if (m) n = Number(m[1]) * SI[m[2]!]!;
  }
  if (!Number.isFinite(n) || n <= 0 || n > max) {
    throw new PluginOptionsError(path, `expected a positive number, optionally with k, M or G ("10M"), at most ${max}, got ${JSON.stringify(v)}`);
  }
  return n;
}
