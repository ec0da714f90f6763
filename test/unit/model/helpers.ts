/** Shared helpers for model tests: build configs as objects, parse them, read problems, make packets. */
import * as assert from 'uvu/assert';
import { isSvrError, type ConfigError } from '../../../src/errors.js';
import { parseAddress } from '../../../src/packet/addr.js';
import type { SvrConfig } from '../../../src/model/config.js';
import { parseConfig, type ConfigProblem } from '../../../src/model/validate.js';
import type { ForwardingTables } from '../../../src/model/tables.js';

export const SECRET = '00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff';

type Obj = Record<string, unknown>;

/** A valid authority: r1 (lan0, wan0) and r2 (lan0, wan0) in neighborhood `internet`. */
export function baseAuthority(extra: Obj = {}): Obj {
  return {
    name: 'test',
    secret: SECRET,
    tenants: [{ name: 'engineering', members: ['10.1.0.0/16'] }],
    services: [{ name: 'web', addresses: ['10.9.0.0/16'], transport: [{ protocol: 'tcp', ports: [80] }], 'access-policy': [{ source: 'engineering' }] }],
    routers: [
      {
        name: 'r1',
        interfaces: [
          { name: 'lan0', kind: 'lan' },
          { name: 'wan0', kind: 'wan', waypoint: '192.0.2.1', neighborhoods: [{ name: 'internet' }] },
        ],
        routes: [{ prefix: '10.1.0.0/16', interface: 'lan0' }],
        'service-routes': [{ name: 'web-out', service: 'web', peer: 'r2' }],
      },
      {
        name: 'r2',
        interfaces: [
          { name: 'lan0', kind: 'lan' },
          { name: 'wan0', kind: 'wan', waypoint: '192.0.2.2', neighborhoods: [{ name: 'internet' }] },
        ],
        'service-routes': [{ name: 'web-in', service: 'web', 'next-hop': { interface: 'lan0' } }],
      },
    ],
    ...extra,
  };
}

export function parseObject(authority: Obj): SvrConfig {
  return parseConfig(JSON.stringify({ authority }, null, 2), 'test.json');
}

/** The problems parseConfig reports for this text; fails the test when it does not throw CONFIG_INVALID. */
export function problemsOf(text: string, source = 'test.yaml'): ConfigProblem[] {
  try {
    parseConfig(text, source);
  } catch (e) {
    if (!isSvrError(e, 'SVR_ERR_CONFIG_INVALID')) throw e;
    return (e as ConfigError).data.problems;
  }
  assert.unreachable('expected SVR_ERR_CONFIG_INVALID');
  return [];
}

export function problemsOfObject(authority: Obj): ConfigProblem[] {
  return problemsOf(JSON.stringify({ authority }, null, 2), 'test.json');
}

/** Assert a problem at exactly `path` whose message contains `fragment`. */
export function hasProblem(problems: ConfigProblem[], path: string, fragment: string): void {
  const found = problems.find((p) => p.path === path && p.message.includes(fragment));
  if (found === undefined) {
    assert.unreachable(`no problem at ${path} containing ${JSON.stringify(fragment)}; got:\n${problems.map((p) => `  ${p.path}: ${p.message}`).join('\n')}`);
  }
}

export function bytes(address: string): Uint8Array {
  const a = parseAddress(address);
  if (a === undefined) throw new Error(`bad test address ${address}`);
  return a.bytes;
}

/** A buffer holding [pad][src][dst], like an IP header, and the offsets of both addresses. */
export function packet(src: string, dst: string, pad = 12): { buf: Uint8Array; srcOff: number; dstOff: number; family: 4 | 6 } {
  const s = parseAddress(src)!;
  const d = parseAddress(dst)!;
  const buf = new Uint8Array(pad + s.bytes.length * 2 + 4).fill(0xee);
  buf.set(s.bytes, pad);
  buf.set(d.bytes, pad + s.bytes.length);
  return { buf, srcOff: pad, dstOff: pad + s.bytes.length, family: s.family };
}

export const TCP = 6;
export const UDP = 17;
export const ICMP = 1;

/** lookupService by names, returning the service name or 'denied' / 'none'. */
export function serviceFor(t: ForwardingTables, tenant: string | undefined, src: string, dst: string, protocol: number, port: number): string {
  const p = packet(src, dst);
  const tenantId = tenant === undefined ? -1 : t.tenantId(tenant);
  if (tenant !== undefined && tenantId === -1) throw new Error(`unknown tenant ${tenant}`);
  const id = t.lookupService(tenantId, p.buf, p.srcOff, p.dstOff, p.family, protocol, port);
  if (id === -2) return 'denied';
  if (id === -1) return 'none';
  return t.services[id]!.name;
}

/** A hub and `spokes` spokes in neighborhood `wan` (topologies as given), each with a lan and a wan interface. */
export function hubAndSpokes(spokes = 3, hubTopology = 'hub', spokeTopology = 'spoke'): Record<string, any> { // fixtures are edited freely
  const wan = (i: number, topology: string) => ({ name: 'wan0', kind: 'wan', waypoint: `192.0.2.${i}`, neighborhoods: [{ name: 'wan', topology }] });
  return {
    name: 'hs',
    secret: SECRET,
    routers: [
      { name: 'hub', interfaces: [{ name: 'lan0', kind: 'lan' }, wan(1, hubTopology)] },
      ...Array.from({ length: spokes }, (_, k) => ({ name: `s${k + 1}`, interfaces: [{ name: 'lan0', kind: 'lan' }, wan(k + 2, spokeTopology)] })),
    ],
  };
}
