import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createMemoryLab } from '../../../src/sim/memory-lab.js';
import { exampleConfig, until, waitFor } from '../../support/config.js';

function plugin(dir: string, name: string, body: string): { use: string; baseDir: string; at: string } {
  const file = join(dir, `${name}.mjs`);
  writeFileSync(file, body);
  return { use: file, baseDir: dir, at: `plugins[${name}]` };
}

test('session-open hooks: refuse (counted per plugin), source NAT at the egress (the server sees the NAT address, replies come back), close hook', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'svr-hooks-'));
  const lab = createMemoryLab({ config: await exampleConfig(), clients: ['198.18.1.10'], servers: ['198.18.3.20'] });
  try {
    const refuser = plugin(dir, 'refuser', `
      let n = 0;
      export default { name: 'test.refuser', version: '1.0.0', api: '^1',
        dataplane(ctx) { ctx.onSessionOpen((s) => { if (s.srcPort === 41999) s.refuse(); }); } };`);
    const snat = plugin(dir, 'snat', `
      export let closed = 0;
      let next = 20000;
      const addr = Uint8Array.of(198, 18, 3, 1);
      export default { name: 'test.snat', version: '1.0.0', api: '^1',
        dataplane(ctx) {
          ctx.onSessionOpen((s) => { if (s.role === 'egress') s.natSource(addr, next++); });
          ctx.onSessionClose(() => { globalThis.__svrClosed = (globalThis.__svrClosed ?? 0) + 1; });
        } };`);
    assert.equal(await lab.r1.applyPlugins([refuser]), []);
    assert.equal(await lab.r2.applyPlugins([snat]), []);
    const seen: string[] = [];
    lab.servers[0]!.udpBind(7, (d, f) => { seen.push(`${f.address}:${f.port}`); lab.servers[0]!.udpSend(7, f.address, f.port, d); });
    let replies = 0;
    lab.clients[0]!.udpBind(41000, () => replies++);
    lab.clients[0]!.udpSend(41000, '198.18.3.20', 7, Buffer.from('a'));
    assert.ok(await until(() => replies === 1), 'the reply comes back through the NAT');
    assert.equal(seen, ['198.18.3.1:20000'], 'the server sees the NAT address and port');
    lab.clients[0]!.udpSend(41000, '198.18.3.20', 7, Buffer.from('b'));
    assert.ok(await until(() => replies === 2));
    assert.equal(seen, ['198.18.3.1:20000', '198.18.3.1:20000'], 'one binding per session');
    lab.clients[0]!.udpSend(41999, '198.18.3.20', 7, Buffer.from('refused'));
    await waitFor('drop-refused-by-plugin', () => (lab.r1.counters()['drop-refused-by-plugin'] ?? 0) === 1);
    assert.is(lab.r1.counters()['plugin.test.refuser.refused'], 1);
    assert.is(seen.length, 2, 'the refused session reached nothing');
    const egress = lab.r2.host.dataplane;
    const rows: number[] = [];
    for (let r = 0; r < egress.sessions.capacity; r++) if (egress.sessions.isActive(r)) rows.push(r);
    egress.removeRow(rows[0]!, egress.sessions.gen[rows[0]!]!, 'admin');
    assert.is((globalThis as { __svrClosed?: number }).__svrClosed, 1, 'the close hook ran');
  } finally {
    await lab.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a classifier names a session\'s application at the ingress; the egress learns it from metadata (TLV 35)', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'svr-hooks-'));
  const lab = createMemoryLab({ config: await exampleConfig(), clients: ['198.18.1.10'], servers: ['198.18.3.20'] });
  try {
    const classifier = plugin(dir, 'classify', `
      export default { name: 'test.classify', version: '1.0.0', api: '^1',
        dataplane(ctx) { ctx.addStage({ name: 'name-it', run(b, f, rt) {
          for (let k = 0; k < f.n; k++) {
            const s = f.slot[k], pi = b.info[s], row = b.session[s];
            if (pi.end > pi.payload && ctx.sessions.application(row) === '') ctx.sessions.setApplication(row, 'demo.app');
            rt.next[s] = ctx.PASS;
          }
        } }); } };`);
    assert.equal(await lab.r1.applyPlugins([classifier], { services: { echo: ['test.classify/name-it'] } }), []);
    let replies = 0;
    lab.servers[0]!.udpBind(7, (d, f) => lab.servers[0]!.udpSend(7, f.address, f.port, d));
    lab.clients[0]!.udpBind(41000, () => replies++);
    for (let i = 1; i <= 3; i++) {
      lab.clients[0]!.udpSend(41000, '198.18.3.20', 7, Buffer.from(`m${i}`));
      assert.ok(await until(() => replies === i));
    }
    assert.is((await lab.r1.sessions())[0]!.application, 'demo.app');
    assert.is((await lab.r2.sessions())[0]!.application, 'demo.app', 'the egress knows it too');
    assert.is((await lab.r1.sessions())[0]!.handshake, 'complete', 're-signalling was acknowledged');
  } finally {
    await lab.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
