import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createMemoryLab, type MemoryLab } from '../../../src/sim/memory-lab.js';
import { parseConfig } from '../../../src/model/validate.js';
import { sleep, until, waitFor } from '../../support/config.js';
import { prng } from '../../support/prng.js';
import { TWO_PATHS } from '../../support/two-paths.js';

/** Two routers on two paths; the services' policy has `fec` (group size 10) when `fec` is set. */
function lab2(fec: boolean, hmacMode?: string): MemoryLab {
  let text = TWO_PATHS
    .replace('  services:\n', `  service-policies: [{ name: lossy, fec: { enabled: ${fec}, group-size: 10, parity: 3, flush-ms: 20 } }]\n  services:\n`)
    .replace(/access-policy: \[\{ source: lab \}\]/g, '$&\n      service-policy: lossy');
  if (hmacMode !== undefined) text = text.replace('  tenants:', `  security-policies: [{ name: internal, hmac-mode: ${hmacMode} }]\n  tenants:`);
  return createMemoryLab({ config: parseConfig(text, 'fec.yaml'), clients: ['198.18.1.10'], servers: ['198.18.3.20'], paths: 2 });
}

/** Sends N numbered datagrams (after a first one that sets the session up); returns how many distinct ones arrived. */
async function stream(lab: MemoryLab, n: number, loss: number, tamper?: (pkt: Uint8Array) => void): Promise<{ delivered: number; dupes: number }> {
  const seen = new Map<string, number>();
  lab.servers[0]!.udpBind(5000, (d) => { const k = Buffer.from(d).toString(); seen.set(k, (seen.get(k) ?? 0) + 1); });
  lab.clients[0]!.udpSend(40000, '198.18.3.20', 5000, Buffer.from('hello'));
  await waitFor('the first datagram at the server', () => seen.size === 1, 2000);
  // reverse metadata (the handshake's health check) ends the metadata phase: packets after it are grouped
  assert.ok(await until(() => (lab.r1.counters()['consumed-control-messages'] ?? 0) >= 1, 3000), 'reverse metadata');
  const rnd = prng(11);
  for (const w of lab.wans) w.setFilter((pkt) => { tamper?.(pkt); return rnd() >= loss; });
  for (let i = 0; i < n; i++) {
    lab.clients[0]!.udpSend(40000, '198.18.3.20', 5000, Buffer.from(`datagram ${i} `.padEnd(200 + (i % 300), 'x')));
    if (i % 20 === 19) await sleep(1);
  }
  await sleep(400); // the last group's parity goes at the next sweep
  seen.delete('hello');
  return { delivered: seen.size, dupes: [...seen.values()].filter((c) => c > 1).length };
}

test('fec: 5 % loss on the path, group size 10, parity 3: delivered loss under 0.5 %, every rebuilt packet intact and once', async () => {
  const lab = lab2(true);
  const N = 3000;
  const { delivered, dupes } = await stream(lab, N, 0.05);
  const c1 = lab.r1.counters();
  const c2 = lab.r2.counters();
  const fec = (c: Record<string, number>) => JSON.stringify(Object.fromEntries(Object.entries(c).filter(([k]) => k.startsWith('fec') || k.startsWith('drop'))));
  assert.ok(delivered >= N * 0.995, `delivered ${delivered}/${N} ${fec(c1)} ${fec(c2)}`);
  assert.is(dupes, 0, 'no datagram twice');
  assert.ok((c1["fec-parity-sent"] ?? 0) >= (N / 10) * 3, `parity sent ${c1['fec-parity-sent']}`);
  assert.ok((c2['fec-packets-recovered'] ?? 0) > N * 0.03, `recovered ${c2['fec-packets-recovered']}`);
  assert.ok((c2['fec-parity-received'] ?? 0) > 0);
  await lab.close();
});

test('fec off: the same loss is lost (the test above can fail)', async () => {
  const lab = lab2(false);
  const N = 3000;
  const { delivered } = await stream(lab, N, 0.05);
  assert.ok(delivered < N * 0.97, `delivered ${delivered}/${N}`);
  assert.is(lab.r1.counters()['fec-parity-sent'] ?? 0, 0);
  await lab.close();
});

test('fec with plain data packets unsigned (hmac metadata-only): rebuilt packets delivered', async () => {
  const lab = lab2(true, 'metadata-only');
  const N = 2000;
  const { delivered, dupes } = await stream(lab, N, 0.05);
  const c2 = lab.r2.counters();
  assert.ok(delivered >= N * 0.995, `delivered ${delivered}/${N}`);
  assert.is(dupes, 0);
  assert.ok((c2['fec-packets-recovered'] ?? 0) > N * 0.03, `recovered ${c2['fec-packets-recovered']}`);
  assert.is(c2['drop-fec-parity-unauthenticated'] ?? 0, 0, 'parity packets are signed on a metadata-only path too');
  await lab.close();
});

test('fec: a forged parity packet (bad HMAC) is dropped and counted, nothing rebuilt from it', async () => {
  const lab = lab2(true);
  let forged = 0;
  const { delivered } = await stream(lab, 300, 0, (pkt) => {
    const at = 28; // IPv4 + UDP headers: a parity packet's tag broken on the way
    if (pkt.length > at + 24 && pkt[at] === 0x4c && pkt[at + 8] === 0xf0) {
      pkt[pkt.length - 1] ^= 0xff;
      forged++;
    }
  });
  assert.is(delivered, 300);
  assert.ok(forged >= 20, `parity packets seen on the wire: ${forged}`);
  const c2 = lab.r2.counters();
  assert.is(c2['drop-fec-parity-unauthenticated'] ?? 0, forged);
  assert.is(c2['fec-parity-received'] ?? 0, 0);
  assert.is(c2['fec-packets-recovered'] ?? 0, 0);
  await lab.close();
});

test.run();
