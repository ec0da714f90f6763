/**
 * What a reload cannot change (node/restart-fields.ts), refused with the path of each field: the node's router,
 * its interfaces (a field changed, one added or removed), authority.step.mode, its redundancy. The same config, or one
 * that changes what applies live, passes. Through `svr node reload` and REST: e2e/visibility-api.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { isSvrError } from '../../../src/errors.js';
import type { Redundancy, SvrConfig } from '../../../src/model/config.js';
import { refuseRestartOnly, restartOnlyChanges } from '../../../src/node/restart-fields.js';
import { exampleConfig } from '../../support/config.js';

let running: SvrConfig;
test.before(async () => {
  running = await exampleConfig();
});

const paths = (next: SvrConfig, router = 'r1') => restartOnlyChanges(running, next, router).map((p) => p.path);
const edit = (f: (c: SvrConfig) => void): SvrConfig => {
  const c = structuredClone(running);
  f(c);
  return c;
};

test('the same config, or a live change (a service route, an interface\'s tenant), passes', () => {
  assert.equal(paths(structuredClone(running)), []);
  assert.equal(paths(edit((c) => { c.authority.routers[0]!.interfaces[0]!.tenant = 'other'; c.authority.routers[0]!.serviceRoutes = []; })), []);
});

test('an interface field changed: its path, per field', () => {
  const at = running.authority.routers.findIndex((r) => r.name === 'r1');
  const next = edit((c) => {
    c.authority.routers[at]!.interfaces[1]!.mtu = 1400;
    c.authority.routers[at]!.interfaces[0]!.device = 'other0';
  });
  assert.equal(paths(next), [`authority.routers[${at}].interfaces[0].device`, `authority.routers[${at}].interfaces[1].mtu`]);
  assert.match(restartOnlyChanges(running, next, 'r1')[1]!.message, /changed from (\(none\)|\d+) to 1400: restart the node/);
});

test('an interface added or removed; the router removed or renamed', () => {
  const at = running.authority.routers.findIndex((r) => r.name === 'r1');
  const extra = { ...running.authority.routers[at]!.interfaces[0]!, name: 'lan9', device: 'lan9' };
  assert.equal(paths(edit((c) => { c.authority.routers[at]!.interfaces.push(extra); })), [`authority.routers[${at}].interfaces[${running.authority.routers[at]!.interfaces.length}]`]);
  assert.equal(paths(edit((c) => { c.authority.routers[at]!.interfaces.pop(); })), [`authority.routers[${at}].interfaces`]);
  assert.equal(paths(edit((c) => { c.authority.routers[at]!.name = 'r9'; })), ['authority.routers']);
});

test('authority.step.mode and the redundancy block', () => {
  assert.equal(paths(edit((c) => { c.authority.step = { ...c.authority.step!, mode: 'conductor' }; })), ['authority.step.mode']);
  const at = running.authority.routers.findIndex((r) => r.name === 'r1');
  const pair: Redundancy = {
    nodes: [{ name: 'r1a', priority: 200, syncAddress: '198.18.250.1' }, { name: 'r1b', priority: 100, syncAddress: '198.18.250.2' }],
    preempt: false, heartbeatInterval: 100, heartbeatMisses: 3, syncPort: 4797, sharedKey: Buffer.alloc(32, 42).toString('base64'), sharedAddresses: [],
  };
  assert.equal(paths(edit((c) => { c.authority.routers[at]!.redundancy = pair; })), [`authority.routers[${at}].redundancy`]);
});

test('refused as SVR_ERR_CONFIG_INVALID whose message and problems name every field', () => {
  const at = running.authority.routers.findIndex((r) => r.name === 'r1');
  const next = edit((c) => {
    c.authority.routers[at]!.interfaces[0]!.mtu = 1300;
    c.authority.step = { ...c.authority.step!, mode: 'conductor' };
  });
  refuseRestartOnly(running, structuredClone(running), 'r1', 'a.yaml');
  try {
    refuseRestartOnly(running, next, 'r1', 'a.yaml');
    assert.unreachable('refused');
  } catch (e) {
    assert.ok(isSvrError(e, 'SVR_ERR_CONFIG_INVALID'), String(e));
    const problems = (e as { data: { source: string; problems: { path: string }[] } }).data.problems.map((p) => p.path);
    assert.equal(problems, [`authority.routers[${at}].interfaces[0].mtu`, 'authority.step.mode']);
    for (const p of problems) assert.ok((e as Error).message.includes(`\n  ${p}: `), (e as Error).message);
    assert.match((e as Error).message, /^a\.yaml: a reload cannot change these of r1/);
  }
});

test.run();
