/**
 * Option validation for the built-in plugins: each helper checks one field and throws
 * PluginOptionsError(path, message) with the field's path (the loader prefixes `<plugin config>.with.`).
 */
import { PluginOptionsError } from '../../api.js';

export type Fields = Record<string, unknown>;

/** `raw` as a plain object (undefined -> {}), with no keys outside `allowed` (catches typos). */
export function record(raw: unknown, path: string, allowed?: readonly string[]): Fields {
  if (raw === undefined || raw === null) return {};
  if (typeof raw !== 'object' || Array.isArray(raw)) throw new PluginOptionsError(path, `expected an object, got ${JSON.stringify(raw)}`);
  const o = raw as Fields;
  if (allowed) {
    for (const k of Object.keys(o)) {
      if (!allowed.includes(k)) throw new PluginOptionsError(join(path, k), `unknown option (known: ${allowed.join(', ')})`);
    }
  }
  return o;
}

export function join(path: string, key: string | number): string {
  if (typeof key === 'number') return `${path}[${key}]`;
  return path === '' ? key : `${path}.${key}`;
}

export function integer(v: unknown, path: string, min: number, max: number, fallback: number): number {
  if (v === undefined) return fallback;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
    throw new PluginOptionsError(path, `expected a whole number ${min}-${max}, got ${JSON.stringify(v)}`);
  }
  return v;
}

export function oneOf<T extends string>(v: unknown, path: string, values: readonly T[], fallback: T): T {
  if (v === undefined) return fallback;
  if (typeof v !== 'string' || !(values as readonly string[]).includes(v)) {
    throw new PluginOptionsError(path, `expected one of ${values.join(' | ')}, got ${JSON.stringify(v)}`);
  }
  return v as T;
}

export function text(v: unknown, path: string): string {
  if (typeof v !== 'string' || v === '') throw new PluginOptionsError(path, `expected a non-empty string, got ${JSON.stringify(v)}`);
  return v;
}

export function list(v: unknown, path: string): unknown[] {
  if (!Array.isArray(v)) throw new PluginOptionsError(path, `expected a list, got ${JSON.stringify(v)}`);
  return v;
}

/** Dotted-quad IPv4 text -> 4 bytes, or null. */
export function ipv4(s: string): Uint8Array | null {
  const parts = s.split('.');
  if (parts.length !== 4) return null;
  const out = new Uint8Array(4);
  for (let i = 0; i < 4; i++) {
    const p = parts[i]!;
    if (!/^\d{1,3}$/.test(p) || Number(p) > 255) return null;
    out[i] = Number(p);
  }
  return out;
}

export interface Endpoint {
  readonly addr: Uint8Array;
  /** 0 = keep the session's own port */
  readonly port: number;
  readonly text: string;
}

/** `a.b.c.d` or `a.b.c.d:port` (IPv4 only: these plugins do NAT44). */
export function endpoint(v: unknown, path: string): Endpoint {
  const s = text(v, path);
  const m = /^([^:]+)(?::(\d{1,5}))?$/.exec(s);
  const addr = m ? ipv4(m[1]!) : null;
  const port = m?.[2] === undefined ? 0 : Number(m[2]);
  if (addr === null || port > 65535 || (m?.[2] !== undefined && port === 0)) {
    throw new PluginOptionsError(path, `expected an IPv4 address with an optional port (198.18.3.20 or 198.18.3.20:8080), got ${JSON.stringify(v)}`);
  }
  return { addr, port, text: s };
}

/** `"from-to"` with min <= from <= to <= max. */
export function portRange(v: unknown, path: string, min: number, max: number, fallback: readonly [number, number]): [number, number] {
  if (v === undefined) return [fallback[0], fallback[1]];
  const m = typeof v === 'string' ? /^(\d{1,5})-(\d{1,5})$/.exec(v) : null;
  const from = m ? Number(m[1]) : NaN;
  const to = m ? Number(m[2]) : NaN;
  if (!(from >= min && from <= to && to <= max)) {
    throw new PluginOptionsError(path, `expected "from-to" with ${min} <= from <= to <= ${max}, got ${JSON.stringify(v)}`);
  }
  return [from, to];
}

/** Addresses of `a.b.c.d` or `a.b.c.d/len` (every address of the prefix), as u32 values. */
export function ipv4Range(v: unknown, path: string, limit: number): number[] {
  const s = text(v, path);
  const [a, len] = s.split('/') as [string, string | undefined];
  const bytes = ipv4(a);
  const bits = len === undefined ? 32 : /^\d{1,2}$/.test(len) ? Number(len) : -1;
  if (bytes === null || bits < 0 || bits > 32) throw new PluginOptionsError(path, `expected an IPv4 address or prefix, got ${JSON.stringify(v)}`);
  const size = 2 ** (32 - bits);
  if (size > limit) throw new PluginOptionsError(path, `prefix ${s} has ${size} addresses; at most ${limit} are allowed`);
  const base = (u32(bytes) & (bits === 0 ? 0 : (0xffffffff << (32 - bits)) >>> 0)) >>> 0;
  const out: number[] = [];
  for (let i = 0; i < size; i++) out.push((base + i) >>> 0);
  return out;
}

export function u32(b: Uint8Array, off = 0): number {
  return ((b[off]! << 24) | (b[off + 1]! << 16) | (b[off + 2]! << 8) | b[off + 3]!) >>> 0;
}

export function bytesOf(v: number): Uint8Array {
  return Uint8Array.of(v >>> 24, (v >>> 16) & 0xff, (v >>> 8) & 0xff, v & 0xff);
}

export function dotted(v: number): string {
  return `${v >>> 24}.${(v >>> 16) & 0xff}.${(v >>> 8) & 0xff}.${v & 0xff}`;
}
