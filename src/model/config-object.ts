/**
 * A config object written in code (ConfigInput, camelCase keys) goes through exactly the validation a
 * file gets: it is turned into the file's document form (kebab-case keys, port ranges as text), read by the
 * same readers, and its problems are reported back in the object's own terms: camelCase paths
 * (`authority.routers[0].serviceRoutes[1].nextHop`) and key names in messages, and never a line or column
 * (there is no text).
 */
import * as authorityReader from './read-authority.js';
import * as pluginReader from './read-plugins.js';
import * as routerReader from './read-router.js';
import * as policyReader from './read-service-policy.js';
import * as serviceReader from './read-service.js';
import * as telemetryReader from './read-telemetry.js';
import * as managementReader from './read-management.js';
import * as redundancyReader from './read-redundancy.js';
import type { PathSegment } from './problems.js';
import { BUILTIN_SECURITY_POLICY, DEFAULT_PORT_RANGE } from './defaults.js';

const kebab = (key: string): string => key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
const camel = (key: string): string => key.replace(/-([a-z0-9])/g, (_, c: string) => c.toUpperCase());

/** Every config key with a dash (the readers' exported `*_KEYS` lists): the words messages may name. */
export const DASHED_KEYS: ReadonlySet<string> = new Set(
  [authorityReader, pluginReader, routerReader, policyReader, serviceReader, telemetryReader, managementReader, redundancyReader]
    .flatMap((m) => Object.entries(m).filter(([name, v]) => name.endsWith('_KEYS') && Array.isArray(v)).flatMap(([, v]) => v as readonly string[]))
    .filter((k) => k.includes('-')),
);

const isPlainObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Uint8Array);

/** `{ from, to }` (and nothing else) of numbers: a port range written as an object. */
const asRange = (v: unknown): { from: number; to: number } | undefined => {
  if (!isPlainObject(v)) return undefined;
  const keys = Object.keys(v);
  return keys.length === 2 && typeof v['from'] === 'number' && typeof v['to'] === 'number' ? { from: v['from'], to: v['to'] } : undefined;
};

/**
 * The document form of a config object: camelCase keys become kebab-case (keys written in kebab-case stay),
 * undefined fields are dropped, port ranges `{ from, to }` become `"from-to"` (a transport port range
 * `from === to` the plain port); plugin options (`with`) pass as written. A validated config passed back
 * has what validation derived: the wan-only fields of its lan and function interfaces (filled with what
 * validation gives them) and an access rule's `tenant` and `prefix` (read from its `source`); those are
 * dropped (a wan-only field with any other value stays, and is reported).
 */
export function inputToDocument(input: unknown): unknown {
  const doc = toDocument(input);
  const a = (doc as { authority?: { routers?: unknown; services?: unknown } } | null)?.authority;
  if (Array.isArray(a?.services)) {
    for (const svc of a.services) {
      const rules = isPlainObject(svc) ? svc['access-policy'] : undefined;
      if (!Array.isArray(rules)) continue;
      for (const rule of rules) {
        if (!isPlainObject(rule) || typeof rule['source'] !== 'string') continue;
        delete rule['tenant'];
        delete rule['prefix'];
      }
    }
  }
  const routers = a?.routers;
  if (!Array.isArray(routers)) return doc;
  for (const r of routers) {
    const ifaces = isPlainObject(r) ? r['interfaces'] : undefined;
    if (!Array.isArray(ifaces)) continue;
    for (const i of ifaces) if (isPlainObject(i) && i['kind'] !== 'wan') dropFilled(i);
  }
  return doc;
}

const FILLED_FOR_NON_WAN: Record<string, (v: unknown) => boolean> = {
  neighborhoods: (v) => Array.isArray(v) && v.length === 0,
  security: (v) => v === BUILTIN_SECURITY_POLICY,
  'port-range': (v) => v === `${DEFAULT_PORT_RANGE.from}-${DEFAULT_PORT_RANGE.to}`,
  'enforced-mss': (v) => v === 'disabled',
};

function dropFilled(iface: Record<string, unknown>): void {
  for (const [key, filled] of Object.entries(FILLED_FOR_NON_WAN)) if (key in iface && filled(iface[key])) delete iface[key];
}

function toDocument(value: unknown, key = ''): unknown {
  if (key === 'with') return value;
  if (Array.isArray(value)) {
    return value.map((item) => {
      const r = key === 'ports' ? asRange(item) : undefined;
      return r === undefined ? toDocument(item) : r.from === r.to ? r.from : `${r.from}-${r.to}`;
    });
  }
  if (!isPlainObject(value)) return value;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) {
    if (v === undefined) continue;
    const name = kebab(k);
    const r = name === 'port-range' ? asRange(v) : undefined;
    out[name] = r !== undefined ? `${r.from}-${r.to}` : toDocument(v, name);
  }
  return out;
}

/** A problem's path segments in the object's terms: camelCase keys. */
export function objectSegments(segments: readonly PathSegment[]): PathSegment[] {
  return segments.map((s) => (typeof s === 'string' ? camel(s) : s));
}

/**
 * A message in the object's terms: the dashed config keys it names, and any dashed word in backticks (a key
 * the object has, such as an unknown one), become camelCase; quoted values stay.
 */
export function objectMessage(message: string): string {
  return message.split(/("(?:[^"\\]|\\.)*")/).map((part, i) => (i % 2 === 1 ? part
    : part.replace(/(`?)([a-z][a-z0-9]*(?:-[a-z0-9]+)+)(`?)/g, (all, open: string, word: string, close: string) =>
      (DASHED_KEYS.has(word) || (open === '`' && close === '`') ? `${open}${camel(word)}${close}` : all)))).join('');
}
