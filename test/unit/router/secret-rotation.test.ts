/**
 * Rotating the authority secret (docs/security.md "Rotating the authority secret"): two routers over a memory
 * link with BFD; both reload a new secret (same key-version), one after the other. While only one end has it the
 * path is down; once both have it the path is up again within one detection time, not after rekey-delay.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createMemoryLab, type MemoryLab } from '../../../src/sim/memory-lab.js';
import { NodeAlarms } from '../../../src/node/alarms.js';
import { exampleConfig, until } from '../../support/config.js';
import { handshakeConfig } from '../../support/handshake-config.js';

/** The server echoes UDP port 7; `echo()` is true when a datagram from the client came back within 300 ms (one session: one source port). */
function udpEcho(lab: MemoryLab): () => Promise<boolean> {
  let echoed = 0;
  lab.servers[0]!.udpBind(7, (d, from) => lab.servers[0]!.udpSend(7, from.address, from.port, d));
  lab.clients[0]!.udpBind(41000, () => void echoed++);
  return async () => {
    const before = echoed;
    lab.clients[0]!.udpSend(41000, '198.18.3.20', 7, Buffer.from('ping'));
    return until(() => echoed > before, 300);
  };
}

test('a new authority secret on both routers: the path is down while they differ, up again within a detection time of the second reload', async () => {
  const config = await exampleConfig();
  const lab = createMemoryLab({ config, clients: ['198.18.1.10'], servers: ['198.18.3.20'], router: { liveness: 'bfd' } });
  try {
    const up = (r: typeof lab.r1) => r.peers().some((p) => p.paths.some((q) => q.up));
    assert.ok(await until(() => up(lab.r1) && up(lab.r2), 5000), 'the path comes up');
    const echo = udpEcho(lab);
    assert.ok(await echo(), 'a session before the rotation');
    const alarms = new NodeAlarms(lab.r1, { sessionCapacity: () => 100, everyMs: 60_000, graceMs: 0 });
    const pathDown = (): boolean => {
      alarms.observe();
      return alarms.registry.active().some((a) => a.id.startsWith('peer-path-down:'));
    };
    assert.not.ok(pathDown(), 'no alarm before');
    const next = structuredClone(lab.r1.runningConfig) as typeof config;
    next.authority.secret = randomBytes(32).toString('hex');
    lab.r1.applyConfig(next);
    assert.ok(await until(() => !up(lab.r1) || !up(lab.r2), 5000), 'only r1 has the new secret: the path goes down');
    assert.ok(await until(pathDown, 5000), 'r1 raises peer-path-down while the secrets differ');
    lab.r2.applyConfig(next);
    // BFD up within a detection time (3 s), then the path's hold-down (5 s); rekey-delay (30 s) is not waited for
    assert.ok(await until(() => up(lab.r1) && up(lab.r2), 15_000), 'both have it: the path is up again');
    assert.not.ok(pathDown(), 'the alarm cleared');
    alarms.stop();
    assert.ok(await until(echo, 3000), 'the session made before the rotation forwards again');
    assert.is((await lab.r1.sessions()).length, 1, 'the same session, not a new one');
  } finally {
    await lab.close();
  }
});

test('payload keys follow the secret too: while only r1 has it r2 cannot open its payloads (counted); once both have it the session carries again', async () => {
  const config = await exampleConfig();
  // the path's own key: the path stays up, only the end-to-end payload key derives from the secret
  Object.assign(config.authority.securityPolicies.find((p) => p.name === 'internal')!, { key: 'ab'.repeat(32) });
  config.authority.securityPolicies.push({
    name: 'payload', hmacMode: 'time-based', hmacCipher: 'sha256-128', encrypt: true, encryptionCipher: 'aes-cbc-256',
    adaptiveEncryption: false, keyVersion: 1, rekeyDelay: 30, keyExchange: 'static', rekeyInterval: 120,
  });
  for (const s of config.authority.services) s.security = 'payload';
  const lab = createMemoryLab({ config, clients: ['198.18.1.10'], servers: ['198.18.3.20'] });
  try {
    const echo = udpEcho(lab);
    assert.ok(await until(echo, 5000), 'an encrypted session');
    const next = structuredClone(lab.r1.runningConfig) as typeof config;
    next.authority.secret = randomBytes(32).toString('hex');
    lab.r1.applyConfig(next);
    const bad = (): number => lab.r2.counters()['drop-bad-payload'] ?? 0;
    assert.not.ok(await echo(), 'r1 seals with the new payload key: r2 cannot open it');
    assert.ok(bad() > 0, 'dropped and counted');
    lab.r2.applyConfig(next);
    assert.ok(await until(echo, 3000), 'both have it: the same session carries again');
    assert.is((await lab.r1.sessions()).length, 1);
  } finally {
    await lab.close();
  }
});

test("handshake keys: the secret is the exchange's pre-shared key; while it differs no handshake completes (bad-auth), once both have it the path is up again and the session carries", async () => {
  const dir = mkdtempSync(join(tmpdir(), 'svr-rotate-hs-'));
  const { config } = handshakeConfig(await exampleConfig(), dir);
  const lab = createMemoryLab({ config, clients: ['198.18.1.10'], servers: ['198.18.3.20'], router: { liveness: 'bfd' } });
  try {
    const up = (r: typeof lab.r1) => r.peers().some((p) => p.paths.some((q) => q.up));
    const path = (r: typeof lab.r1) => r.security().paths[0]!;
    const badAuth = () => path(lab.r1).refused?.['bad-auth'] ?? 0;
    assert.ok(await until(() => up(lab.r1) && up(lab.r2), 5000), 'exchanged keys, the path comes up');
    const echo = udpEcho(lab);
    assert.ok(await echo(), 'a session before the rotation');
    const before = path(lab.r1).tx!.securityId;
    const next = structuredClone(lab.r1.runningConfig) as typeof config;
    next.authority.secret = randomBytes(32).toString('hex');
    lab.r1.applyConfig(next);
    assert.ok(await until(() => badAuth() > 0, 5000), "r2 answers r1's initiation under the old pre-shared key: r1 cannot open the response (bad-auth, counted)");
    assert.ok(await until(() => !up(lab.r1) || !up(lab.r2), 5000), 'the path goes down while the secrets differ');
    assert.not.ok(await echo(), 'nothing carries meanwhile');
    lab.r2.applyConfig(next);
    assert.ok(await until(() => up(lab.r1) && up(lab.r2), 15_000), 'both have it: a handshake completes and the path is up again');
    assert.is.not(path(lab.r1).tx!.securityId, before, 'under keys of a new exchange');
    assert.ok(await until(echo, 3000), 'the session made before the rotation forwards again');
    assert.is((await lab.r1.sessions()).length, 1, 'the same session, not a new one');
  } finally {
    await lab.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
