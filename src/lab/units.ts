/** Values with units on the lab's command line: durations (`80ms`, `1.5s`, `80` = ms) and percentages (`2%`, `0.5`). */
import { SvrError } from '../errors.js';

const DURATION = /^(\d+(?:\.\d+)?)\s*(ms|s)?$/i;
const PERCENT = /^(\d+(?:\.\d+)?)\s*%?$/;

/** Milliseconds; throws SVR_ERR_LAB_OPTION naming the option when malformed or outside [min, max] ms. */
export function parseDuration(text: string, option: string, minMs: number, maxMs: number): number {
  const m = DURATION.exec(text.trim());
  if (m === null) {
    throw new SvrError('SVR_ERR_LAB_OPTION', `${option} ${JSON.stringify(text)}: expected a duration such as 80ms, 1.5s or 80 (ms)`);
  }
  const ms = Number(m[1]) * ((m[2] ?? 'ms').toLowerCase() === 's' ? 1000 : 1);
  if (ms < minMs || ms > maxMs) {
    throw new SvrError('SVR_ERR_LAB_OPTION', `${option} ${JSON.stringify(text)}: must be between ${formatMs(minMs)} and ${formatMs(maxMs)}`);
  }
  return Math.round(ms * 1000) / 1000;
}

/** Percent 0-100; throws SVR_ERR_LAB_OPTION naming the option. */
export function parsePercent(text: string, option: string): number {
  const m = PERCENT.exec(text.trim());
  const v = m === null ? NaN : Number(m[1]);
  if (!Number.isFinite(v) || v < 0 || v > 100) {
    throw new SvrError('SVR_ERR_LAB_OPTION', `${option} ${JSON.stringify(text)}: expected a percentage 0-100 such as 2% or 0.5%`);
  }
  return v;
}

/** A positive whole number (packets per second, bytes, ...). */
export function parseCount(text: string, option: string, min: number, max: number): number {
  const v = Number(text);
  if (!/^\d+$/.test(text.trim()) || v < min || v > max) {
    throw new SvrError('SVR_ERR_LAB_OPTION', `${option} ${JSON.stringify(text)}: expected a whole number ${min}-${max}`);
  }
  return v;
}

export function formatMs(ms: number): string {
  return ms >= 1000 && ms % 100 === 0 ? `${ms / 1000} s` : `${ms} ms`;
}
