/**
 * The access table and service FIB built away from the data path's thread (prepareTables, as typed arrays that
 * cross threads by structured clone or transfer) answer as the ones compileRouter builds itself: every service
 * lookup and its explanation over a grid of tenants, sources, destinations, protocols and ports.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { compileRouter, compileRouterInTurns, prepareTables } from '../../../src/model/compile.js';
import type { ForwardingTables } from '../../../src/model/tables.js';
import { sliceValue } from '../../../src/util/sliced-clone.js';
import { ICMP, TCP, UDP, baseAuthority, packet, parseObject, serviceFor } from './helpers.js';

type Obj = Record<string, unknown>;

const base = baseAuthority();
const config = parseObject({
  ...base,
  tenants: [{ name: 'engineering', members: ['10.1.0.0/16'] }, { name: 'dev.engineering' }, { name: 'guest' }],
  services: [
    { name: 'same', addresses: ['10.0.0.1'], 'access-policy': [{ source: 'engineering' }, { source: 'engineering@0.0.0.0/0', permission: 'deny' }] },
    { name: 'child', addresses: ['10.0.0.2'], 'access-policy': [{ source: 'engineering', permission: 'deny' }, { source: 'dev.engineering' }] },
    { name: 'hole', addresses: ['10.0.0.3'], 'access-policy': [{ source: '172.16.0.0/12', permission: 'deny' }, { source: '172.16.5.0/24' }, { source: '0.0.0.0/0' }] },
    { name: 'lab', addresses: ['10.0.0.0/8', '2001:db8::10'], transport: [{ protocol: 'udp' }], 'access-policy': [{ source: '192.168.0.0/16' }, { source: 'guest' }] },
    { name: 'web', addresses: ['0.0.0.0/0'], transport: [{ protocol: 'tcp', ports: [80] }], 'access-policy': [{ source: 'engineering' }] },
  ],
  routers: (base['routers'] as Obj[]).map((r) => ({ ...r, 'service-routes': [] })),
});

const tenants = [undefined, 'engineering', 'dev.engineering', 'guest'];
const sources = ['1.1.1.1', '172.16.5.9', '172.16.6.9', '192.168.1.9', '10.1.2.3'];
const destinations = ['10.0.0.1', '10.0.0.2', '10.0.0.3', '10.0.0.4', '10.9.9.9', '8.8.8.8'];

/** Every lookup of the grid: the answer and what `svr explain` would name. */
function answers(t: ForwardingTables): string[] {
  const out: string[] = [];
  for (const tenant of tenants) {
    for (const src of sources) {
      for (const dst of destinations) {
        for (const [protocol, port] of [[TCP, 80], [TCP, 22], [UDP, 53], [ICMP, 0]] as const) {
          const answer = serviceFor(t, tenant, src, dst, protocol, port);
          const { chosen, refused } = t.lastServiceLookup();
          const p = packet(src, dst);
          const decisions = t.services.map((_, s) => JSON.stringify(t.accessDecision(tenant === undefined ? -1 : t.tenantId(tenant), s, p.buf, p.srcOff, p.family)));
          out.push(`${tenant}|${src}|${dst}|${protocol}/${port}: ${answer} chosen=${chosen?.service ?? '-'} refused=${refused?.service ?? '-'} ${decisions.join(',')}`);
        }
      }
    }
  }
  return out;
}

test('tables from prepared parts (after a structured clone) answer every lookup as those compiled here', () => {
  const here = compileRouter(config, 'r1', 1);
  const there = compileRouter(config, 'r1', 1, [], structuredClone(prepareTables(config, 'r1')));
  const expected = answers(here);
  assert.equal(answers(there), expected);
  // the grid sees every kind of answer (a comparison of only "none" would prove nothing)
  for (const kind of ['child', 'hole', 'lab', 'web', 'denied', 'none']) assert.ok(expected.some((a) => a.includes(`: ${kind} `)), `no lookup answered ${kind}`);
});

test('tables compiled in turns (a reload with the data path in this thread) answer as those compiled in one', async () => {
  let turns = 0;
  const sliced = await compileRouterInTurns(config, 'r1', 1, [], structuredClone(prepareTables(config, 'r1')), async () => { turns++; });
  assert.equal(answers(sliced), answers(compileRouter(config, 'r1', 1)));
  assert.equal(sliced.services.map((s) => s.name), ['same', 'child', 'hole', 'lab', 'web']);
  assert.ok(turns >= 2, `compiled in ${turns + 1} slices: the name tables and the lookup tables each end one`);
});

test('parts prepared for another router or another config are not used', () => {
  const here = answers(compileRouter(config, 'r1', 1));
  const other = parseObject({ ...base, routers: (base['routers'] as Obj[]).map((r) => ({ ...r, 'service-routes': [] })) });
  assert.equal(answers(compileRouter(config, 'r1', 1, [], prepareTables(config, 'r2'))), here, 'prepared for r2');
  assert.equal(answers(compileRouter(config, 'r1', 1, [], prepareTables(other, 'r1'))), here, 'another config: other sizes');
});

test('the config\'s shared slices that ride with prepared parts are not kept by the tables (~8 MB at 10,000 services)', () => {
  const { sliced } = sliceValue(config, 100, true);
  const tables = compileRouter(config, 'r1', 1, [], { ...prepareTables(config, 'r1'), config: sliced });
  assert.is(tables.prepared.config, undefined);
  assert.equal(Object.keys(tables.prepared).sort(), ['access', 'fib', 'router']);
});

test.run();
