import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createHash, randomBytes } from 'node:crypto';
import { createMemoryLab } from '../../../src/sim/memory-lab.js';
import { exampleConfig, waitFor } from '../../support/config.js';
import { prng } from '../../support/prng.js';
import { unaccounted } from '../../support/counters.js';

const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

test('100,000 random, truncated and bit-flipped packets at every interface while a good session runs', async () => {
  const errors: unknown[] = [];
  const onError = (e: unknown) => errors.push(e);
  process.on('uncaughtException', onError);
  const lab = createMemoryLab({ config: await exampleConfig(), clients: ['198.18.1.10'], servers: ['198.18.3.20'] });
  // templates: real packets of every kind seen on each link
  const templates: { lan1: Uint8Array[]; wanAB: Uint8Array[]; wanBA: Uint8Array[]; lan2: Uint8Array[] } = { lan1: [], wanAB: [], wanBA: [], lan2: [] };
  lab.clientLan.observe((p, from) => { if (!from.endsWith('gateway') && templates.lan1.length < 64) templates.lan1.push(p.slice()); });
  lab.serverLan.observe((p, from) => { if (!from.endsWith('gateway') && templates.lan2.length < 64) templates.lan2.push(p.slice()); });
  lab.wan.observe((p, dir) => {
    const t = dir === 'a->b' ? templates.wanAB : templates.wanBA;
    if (t.length < 64) t.push(p.slice());
  });
  // the good session: 2 MB download
  const body = randomBytes(2 << 20);
  lab.servers[0]!.tcpListen(80, (conn) => { conn.write(body); conn.end(); });
  const conn = await lab.clients[0]!.tcpConnect('198.18.3.20', 80);
  conn.end();
  const download = conn.readAll();
  await waitFor(() => `9 template packets each way (wan b->a ${templates.wanBA.length}, lan2 ${templates.lan2.length})`, () => templates.wanBA.length > 8 && templates.lan2.length > 8);

  const rnd = prng(12345);
  const int = (n: number) => Math.floor(rnd() * n);
  const mutate = (pool: Uint8Array[]): Uint8Array => {
    const kind = int(3);
    if (kind === 0 || pool.length === 0) {
      const p = new Uint8Array(int(120));
      for (let i = 0; i < p.length; i++) p[i] = int(256);
      if (p.length > 0 && rnd() < 0.7) p[0] = rnd() < 0.5 ? 0x45 : 0x60; // look like IP often
      return p;
    }
    const src = pool[int(pool.length)]!;
    if (kind === 1) return src.slice(0, int(src.length)); // truncated
    const p = src.slice();
    const flips = 1 + int(8);
    for (let i = 0; i < flips; i++) p[int(p.length)]! ^= 1 << int(8);
    return p;
  };
  const lanInjector1 = lab.clientLan.hostPort('198.18.1.99');
  const lanInjector2 = lab.serverLan.hostPort('198.18.3.99');
  const TOTAL = 100_000;
  const injected = { r1: 0, r2: 0 };
  for (let sent = 0; sent < TOTAL;) {
    const burst: [string, Uint8Array][] = [];
    for (let i = 0; i < 500 && sent < TOTAL; i++, sent++) {
      const where = int(4);
      if (where === 0) { burst.push(['lan1', mutate(templates.lan1)]); injected.r1++; }
      else if (where === 1) { burst.push(['wanAB', mutate(templates.wanAB)]); injected.r2++; }
      else if (where === 2) { burst.push(['wanBA', mutate(templates.wanBA)]); injected.r1++; }
      else { burst.push(['lan2', mutate(templates.lan2)]); injected.r2++; }
    }
    for (const [where, p] of burst) {
      const one = [p, Uint32Array.of(0), Uint32Array.of(p.length), 1] as const;
      if (where === 'lan1') lanInjector1.transmit(...one);
      else if (where === 'lan2') lanInjector2.transmit(...one);
      else if (where === 'wanAB') lab.wan.a.send(p);
      else lab.wan.b.send(p);
    }
    await new Promise((r) => setImmediate(r));
  }
  const got = await download;
  process.off('uncaughtException', onError);
  assert.equal(errors, [], 'no exception escaped');
  assert.is(sha(got), sha(body), 'the good session is unharmed');
  for (const r of [lab.r1, lab.r2]) {
    const c = r.counters();
    assert.is(unaccounted(c), 0, `${r.name}: every packet is accounted for: ${JSON.stringify(c)}`);
  }
  const c1 = lab.r1.counters();
  const c2 = lab.r2.counters();
  assert.ok(c1['rx-packets']! >= injected.r1 && c2['rx-packets']! >= injected.r2);
  assert.ok(c1['drop-malformed']! > 10_000 && c2['drop-malformed']! > 10_000, 'malformed packets are counted');
  assert.ok(c1['drop-bad-hmac']! + c2['drop-bad-hmac']! > 1000, 'forged SVR packets are counted');
  await lab.close();
});

test.run();
