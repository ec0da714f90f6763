/** examples/configs/two-routers.yaml loads, and both routers compile into tables that agree. */
import * as assert from 'uvu/assert';
import { fileURLToPath } from 'node:url';
import { compileRouter } from '../../../src/model/compile.js';
import { loadConfig } from '../../../src/model/validate.js';
import { NO_INTERFACE, NO_TENANT } from '../../../src/model/tables.js';
import { test } from 'uvu';
import { TCP, UDP, packet, serviceFor } from './helpers.js';

// Tests run from dist/test/unit/model; the example stays in the source tree.
const EXAMPLE = fileURLToPath(new URL('../../../../examples/configs/two-routers.yaml', import.meta.url));

test('the example loads with its defaults filled', async () => {
  const { authority } = await loadConfig(EXAMPLE);
  assert.is(authority.name, 'demo');
  assert.equal(authority.tenants.map((t) => [t.name, t.members]), [['engineering', ['198.18.1.0/24']], ['guest', ['198.18.9.0/24']]]);
  assert.equal(authority.services.map((s) => s.name), ['web', 'echo']);
  assert.equal(authority.routers.map((r) => r.name), ['r1', 'r2']);
  assert.equal(authority.servicePolicies.map((p) => p.name), ['default']);
});

test('r1: engineering reaches web and echo through r2; guest is denied', async () => {
  const config = await loadConfig(EXAMPLE);
  const r1 = compileRouter(config, 'r1', 1);
  const lan0 = r1.interfaceIndex('lan0');
  const classify = (src: string): number => {
    const p = packet(src, '198.18.3.10');
    return r1.classifyTenant(lan0, p.buf, p.srcOff, p.family);
  };
  assert.is(classify('198.18.1.5'), r1.tenantId('engineering'));
  assert.is(classify('198.18.9.5'), r1.tenantId('guest'));
  assert.is(classify('198.18.5.5'), NO_TENANT);

  assert.is(serviceFor(r1, 'engineering', '198.18.1.5', '198.18.3.10', TCP, 80), 'web');
  assert.is(serviceFor(r1, 'engineering', '198.18.1.5', '198.18.3.10', TCP, 8080), 'web');
  assert.is(serviceFor(r1, 'engineering', '198.18.1.5', '198.18.3.10', UDP, 7), 'echo');
  assert.is(serviceFor(r1, 'engineering', '198.18.1.5', '198.18.3.10', TCP, 443), 'none');
  assert.is(serviceFor(r1, 'guest', '198.18.9.5', '198.18.3.10', TCP, 80), 'denied');
  assert.is(serviceFor(r1, undefined, '198.18.5.5', '198.18.3.10', UDP, 7), 'denied');

  const web = r1.services[r1.serviceId('web')]!;
  assert.equal(web.routes, [{ kind: 'peer', name: 'web-via-r2', peer: r1.peerId('r2') }]);
  assert.is(r1.services[r1.serviceId('echo')]!.timeouts.udp, 30000);
  assert.equal(r1.paths.map((p) => [p.name, p.vector, p.hmac.tagLength]), [['wan0->r2/wan0', 'broadband', 16]]);
  const back = packet('8.8.8.8', '198.18.1.5');
  assert.is(r1.routeLocal(-1, back.buf, back.dstOff, 4), lan0);
});

test('r2 delivers locally and shares the path key with r1', async () => {
  const config = await loadConfig(EXAMPLE);
  const r1 = compileRouter(config, 'r1', 1);
  const r2 = compileRouter(config, 'r2', 1);
  const lan0 = r2.interfaceIndex('lan0');
  assert.equal(r2.services[r2.serviceId('web')]!.routes, [{ kind: 'local', name: 'web-local', interface: lan0 }]);
  const toServer = packet('198.18.1.5', '198.18.3.10');
  assert.is(r2.routeLocal(-1, toServer.buf, toServer.dstOff, 4), lan0);
  assert.is(r2.routeLocal(-1, packet('1.1.1.1', '198.18.1.5').buf, 16, 4), NO_INTERFACE);

  const [path] = r2.paths;
  assert.is(path!.name, 'wan0->r1/wan0');
  assert.is(path!.vector, 'broadband', "r2's entry has no vector, so r1's is used");
  assert.equal(path!.hmac.key, r1.paths[0]!.hmac.key);
  const fromR1 = packet('198.18.12.1', '198.18.12.2');
  assert.is(r2.pathFrom(r2.interfaceIndex('wan0'), fromR1.buf, fromR1.srcOff, 4), path!.id);
});

test.run();
