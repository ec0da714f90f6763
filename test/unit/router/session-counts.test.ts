/**
 * Sessions per path, service and tenant are counts the session table keeps (dataplane/session-counts.ts), read by
 * `show peers`, `services`, `tenants`, a metrics scrape and the managed report without a walk over the rows. Each
 * check compares them with a walk over every row, on both routers, after sessions open (ingress and egress), move
 * to another path (either side's move), end, and a reload that renumbers services and tenants.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { Router } from '../../../src/control/router.js';
import type { InThreadHost } from '../../../src/control/in-thread-host.js';
import { createMemoryLab, type MemoryLab } from '../../../src/sim/memory-lab.js';
import { parseConfig } from '../../../src/model/validate.js';
import { sleep, until } from '../../support/config.js';
import { TWO_PATHS, twoPathsConfig } from '../../support/two-paths.js';

/** The old way: one walk over every row. */
function walk(r: Router<InThreadHost>): { perPath: number[]; perService: number[]; perTenant: number[] } {
  const { sessions: t, tables } = r.host.dataplane.ctx;
  const perPath = new Array<number>(tables.paths.length).fill(0);
  const perService = new Array<number>(tables.services.length).fill(0);
  const perTenant = new Array<number>(tables.tenants.length).fill(0);
  for (let row = 0; row < t.capacity; row++) {
    if (!t.isActive(row)) continue;
    if (t.path[row]! >= 0) perPath[t.path[row]!]!++;
    perService[t.service[row]!]!++;
    perTenant[t.tenant[row]!]!++;
  }
  return { perPath, perService, perTenant };
}

function same(lab: MemoryLab, when: string): void {
  for (const r of [lab.r1, lab.r2]) {
    const { perPath, perService, perTenant } = r.host.tally();
    assert.equal({ perPath, perService, perTenant }, walk(r), `${r.name} ${when}`);
    const byName = (names: readonly string[], counts: number[]) => Object.fromEntries(names.map((n, i) => [n, counts[i]]));
    const tables = r.host.dataplane.ctx.tables;
    const w = walk(r);
    assert.equal(Object.fromEntries(r.services().map((s) => [s.name, s.sessions])), byName(tables.services.map((s) => s.name), w.perService), `${r.name} show services ${when}`);
    assert.equal(Object.fromEntries(r.tenants().map((s) => [s.name, s.sessions])), byName(tables.tenants, w.perTenant), `${r.name} show tenants ${when}`);
    const paths = Object.fromEntries(r.peers().flatMap((p) => p.paths.map((x) => [x.name, x.sessions])));
    assert.equal(paths, byName(tables.paths.map((p) => p.name), w.perPath), `${r.name} show peers ${when}`);
  }
}

const sessionsOf = async (r: Router<InThreadHost>): Promise<number> => (await r.sessions()).length;

test('the counts per path, service and tenant match a walk as sessions open, move, end and a reload renumbers', async () => {
  const lab = createMemoryLab({ config: twoPathsConfig('failover'), clients: ['198.18.1.10', '198.18.1.11'], servers: ['198.18.3.20'], paths: 2 });
  lab.servers[0]!.udpBind(5000, () => {});
  for (let i = 0; i < 20; i++) lab.clients[i % 2]!.udpSend(40000 + i, '198.18.3.20', 5000, Buffer.from(`hello ${i}`));
  lab.servers[0]!.tcpListen(80, (c) => c.end());
  const conn = await lab.clients[0]!.tcpConnect('198.18.3.20', 80);
  assert.ok(await until(async () => (await sessionsOf(lab.r2)) === 21, 3000), 'both routers have the 21 sessions');
  same(lab, 'after 21 sessions opened');
  const t = lab.r1.host.dataplane.ctx.sessions;
  let looked = 0;
  const isActive = t.isActive.bind(t);
  t.isActive = (r: number) => { looked++; return isActive(r); };
  lab.r1.peers();
  lab.r1.services();
  lab.r1.tenants();
  assert.is(looked, 0, 'show peers, services and tenants look at no row (a walk looked at every row: ~9 ms at 1 M sessions)');
  t.isActive = isActive;
  assert.ok(lab.r1.tenants()[0]!.sessions === 21 && lab.r1.services().find((s) => s.name === 'stream')!.sessions === 20, 'the counts are the sessions');

  // path 1 down: r1 moves its sessions (svr-out); r2 follows them (svr-accept)
  lab.wans[0]!.setFilter(() => false);
  lab.r1.setPathUp('wan0->r2/wan0', false);
  lab.r2.setPathUp('wan0->r1/wan0', false);
  for (let i = 0; i < 20; i++) lab.clients[i % 2]!.udpSend(40000 + i, '198.18.3.20', 5000, Buffer.from(`again ${i}`));
  const moved = async (): Promise<number> => (await lab.r2.sessions()).filter((x) => x.service === 'stream' && x.path === 'wan1->r1/wan1').length;
  assert.ok(await until(async () => (await moved()) === 20, 3000), `r2 followed the moves (${await moved()} of 20; ${(await lab.r2.sessions()).map((x) => `${x.service} ${x.path}`).join(', ')})`);
  same(lab, 'after 20 sessions moved to path 2');
  const onPath2 = (await lab.r1.sessions()).filter((x) => x.path === 'wan1->r2/wan1').length;
  assert.ok(onPath2 >= 20 && lab.r1.peers()[0]!.paths.find((p) => p.name === 'wan1->r2/wan1')!.sessions === onPath2, 'show peers: the sessions on path 2');

  // a reload that renumbers services and tenants (a new tenant and service first; moving interfaces would end the sessions)
  const reordered = TWO_PATHS
    .replace('  tenants: [{ name: lab, members: [198.18.1.0/24] }]', '  tenants: [{ name: other, members: [198.18.9.0/24] }, { name: lab, members: [198.18.1.0/24] }]')
    .replace('  services:\n', '  services:\n    - { name: extra, addresses: [198.18.8.0/24], access-policy: [{ source: other }] }\n');
  const config = parseConfig(reordered, 'reordered.yaml');
  lab.r1.applyConfig(config);
  lab.r2.applyConfig(config);
  assert.is(await sessionsOf(lab.r1), 21, 'the reload keeps the sessions');
  const tables = lab.r1.host.dataplane.ctx.tables;
  assert.ok(tables.tenantId('lab') === 1 && tables.serviceId('extra') === 0, 'tenants and services renumbered');
  same(lab, 'after a reload that renumbered');

  // sessions end: the TCP one closes, the UDP ones are removed
  conn.end();
  await conn.closed(); // the server's FIN came long before: readAll() would wait for an 'end' already emitted
  await sleep(50);
  lab.r1.host.removeAllSessions('admin');
  same(lab, 'after the sessions ended');
  assert.equal(lab.r1.host.tally().perService, [0, 0, 0]);
  await lab.close();
});

test.run();
