/**
 * `router.explain()` says what the first-packet stage then really does: for each case the explanation's
 * verdict and counter are checked against the data path's counters after sending that packet, and an
 * allowed flow's tenant, service and path against the session the data path opened.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { isSvrError } from '../../../src/errors.js';
import { parseConfig } from '../../../src/model/validate.js';
import { createMemoryLab, type MemoryLab } from '../../../src/sim/memory-lab.js';
import { exampleConfig, sleep } from '../../support/config.js';
import { TWO_PATHS } from '../../support/two-paths.js';

async function sendUdp(lab: MemoryLab, dst: string, port: number): Promise<void> {
  lab.clients[0]!.udpSend(41000, dst, port, Buffer.from('hello'));
  await sleep(30);
}

// 198.18.5.5: in no tenant. 198.18.9.10: tenant guest, which no service allows. 198.18.1.10: engineering.
const denied = [
  { name: 'no tenant', client: '198.18.5.5', dst: '198.18.3.20', port: 7, counter: 'drop-no-tenant', why: /lan0 names no tenant and no tenant's members contain 198\.18\.5\.5/ },
  { name: 'access denied', client: '198.18.9.10', dst: '198.18.3.20', port: 7, counter: 'drop-access-denied', why: /no allow rule of service echo matches tenant guest from 198\.18\.9\.10/ },
  { name: 'no service', client: '198.18.1.10', dst: '198.18.3.20', port: 9999, counter: 'drop-no-service', why: /no service of the authority has 198\.18\.3\.20 udp 9999/ },
] as const;

for (const c of denied) {
  test(`explain (${c.name}): drop, counter ${c.counter}, the reason; the data path counts the packet there`, async () => {
    const lab = createMemoryLab({ config: await exampleConfig(), clients: [c.client], servers: ['198.18.3.20'] });
    const e = lab.r1.explain({ src: c.client, dst: c.dst, protocol: 'udp', port: c.port });
    assert.is(e.verdict, 'drop');
    assert.is(e.counter, c.counter);
    assert.match(e.steps.map((s) => s.why).join('\n'), c.why);
    await sendUdp(lab, c.dst, c.port);
    assert.is(lab.r1.counters()[c.counter], 1);
    assert.is(lab.r1.counters()['sessions-created'] ?? 0, 0);
    await lab.close();
  });
}

test('explain (allowed): tenant by member prefix, service by FIB entry, the access rule, route, path; the data path opens that session', async () => {
  const lab = createMemoryLab({ config: await exampleConfig(), clients: ['198.18.1.10'], servers: ['198.18.3.20'] });
  const e = lab.r1.explain({ src: '198.18.1.10', dst: '198.18.3.20', protocol: 'udp', port: 7 });
  assert.is(e.verdict, 'forward');
  assert.equal([e.tenant, e.service, e.route, e.peer, e.path], ['engineering', 'echo', 'echo-via-r2', 'r2', 'wan0->r2/wan0']);
  const why = new Map(e.steps.map((s) => [s.step, s.why]));
  assert.match(why.get('interface')!, /route to 198\.18\.1\.10 leaves through it/);
  assert.match(why.get('tenant')!, /member prefix 198\.18\.1\.0\/24 of tenant engineering/);
  assert.match(why.get('service')!, /FIB entry 198\.18\.3\.0\/24 udp 7/);
  assert.match(why.get('access')!, /access-policy\[0\] \(allow engineering\) of service echo allows tenant engineering/);
  assert.match(why.get('nat')!, /waypoints 198\.18\.12\.1 -> 198\.18\.12\.2/);
  assert.equal(e.candidates.map((c) => [c.path, c.chosen, c.rank]), [['wan0->r2/wan0', true, 1]]);
  await sendUdp(lab, '198.18.3.20', 7);
  const [s] = await lab.r1.sessions();
  assert.ok(s !== undefined, 'a session');
  assert.equal([s.tenant, s.service, s.path], [e.tenant, e.service, e.path]);
  await lab.close();
});

test('explain (no route): the only path is down: drop no-route, the candidate says why; the data path drops it so', async () => {
  const lab = createMemoryLab({ config: await exampleConfig(), clients: ['198.18.1.10'], servers: ['198.18.3.20'] });
  lab.r1.setPathUp('wan0->r2/wan0', false);
  const e = lab.r1.explain({ src: '198.18.1.10', dst: '198.18.3.20', protocol: 'udp', port: 7 });
  assert.equal([e.verdict, e.counter], ['drop', 'drop-no-route']);
  assert.match(e.steps.find((s) => s.step === 'route')!.why, /echo-via-r2 \(peer r2: no usable path\)/);
  assert.equal(e.candidates.map((c) => [c.path, c.usable, c.chosen]), [['wan0->r2/wan0', false, false]]);
  assert.match(e.candidates[0]!.why, /not usable/);
  await sendUdp(lab, '198.18.3.20', 7);
  assert.is(lab.r1.counters()['drop-no-route'], 1);
  await lab.close();
});

test('explain (two paths): the first is down, the second chosen; the data path takes the second', async () => {
  const lab = createMemoryLab({ config: parseConfig(TWO_PATHS), clients: ['198.18.1.10'], servers: ['198.18.3.20'], paths: 2 });
  lab.r1.setPathUp('wan0->r2/wan0', false);
  const e = lab.r1.explain({ src: '198.18.1.10', dst: '198.18.3.20', protocol: 'udp', port: 5000 });
  assert.equal([e.verdict, e.path], ['forward', 'wan1->r2/wan1']);
  assert.equal(e.candidates.map((c) => [c.path, c.usable, c.chosen]), [['wan0->r2/wan0', false, false], ['wan1->r2/wan1', true, true]]);
  await sendUdp(lab, '198.18.3.20', 5000);
  assert.is((await lab.r1.sessions())[0]?.path, 'wan1->r2/wan1');
  await lab.close();
});

test('explain (TCP): a SYN is assumed; a deny rule more specific than the allow wins, named with both rules', async () => {
  const text = TWO_PATHS.replace('access-policy: [{ source: lab }]\n    - name: stream', 'access-policy: [{ source: lab }, { source: 198.18.1.66/32, permission: deny }]\n    - name: stream');
  const lab = createMemoryLab({ config: parseConfig(text), clients: ['198.18.1.66'], servers: ['198.18.3.20'], paths: 2 });
  const e = lab.r1.explain({ src: '198.18.1.66', dst: '198.18.3.20', protocol: 'tcp', port: 80 });
  assert.equal([e.verdict, e.counter, e.service], ['drop', 'drop-access-denied', 'web']);
  assert.match(e.steps.find((s) => s.step === 'access')!.why, /access-policy\[1\] \(deny 198\.18\.1\.66\/32\) beats access-policy\[0\] \(allow lab\)/);
  const ok = lab.r1.explain({ src: '198.18.1.10', dst: '198.18.3.20', protocol: 'tcp', port: 80 });
  assert.is(ok.verdict, 'forward');
  assert.match(ok.steps.find((s) => s.step === 'transport')!.why, /a SYN is assumed.*transport-state-enforcement reset/);
  await lab.close();
});

test('explain: a bad question is refused naming the parameter', async () => {
  const lab = createMemoryLab({ config: await exampleConfig(), clients: [], servers: [] });
  const cases: [Parameters<typeof lab.r1.explain>[0], string][] = [
    [{ src: '198.18.1', dst: '198.18.3.20', protocol: 'udp', port: 7 }, 'src'],
    [{ src: '198.18.1.10', dst: '2001:db8::1', protocol: 'udp', port: 7 }, 'dst'],
    [{ src: '198.18.1.10', dst: '198.18.3.20', protocol: 'sctpx', port: 7 }, 'protocol'],
    [{ src: '198.18.1.10', dst: '198.18.3.20', protocol: 'udp', port: 70000 }, 'port'],
    [{ src: '198.18.1.10', dst: '198.18.3.20', protocol: 'udp', port: 7, interface: 'wan0' }, 'interface'],
    [{ src: '198.18.1.10', dst: '198.18.3.20', protocol: 'udp', port: 7, interface: 'lan9' }, 'interface'],
  ];
  for (const [q, parameter] of cases) {
    try {
      lab.r1.explain(q);
      assert.unreachable(`accepted ${JSON.stringify(q)}`);
    } catch (e) {
      assert.ok(isSvrError(e, 'SVR_ERR_EXPLAIN_QUERY'), String(e));
      assert.is((e.data as { parameter: string }).parameter, parameter);
    }
  }
  await lab.close();
});

test.run();
