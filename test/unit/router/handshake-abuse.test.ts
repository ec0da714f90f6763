/**
 * Bad handshake input on two wired routers (docs/security.md "Key exchange"): a garbage initiation, a
 * stranger's initiation (it knows r2's public key, so mac1 passes, but its static key is no peer's), and
 * an old initiation of r1 (made with r1's own key an hour ago: what a replay of a captured one is) create
 * no state and are counted by reason in `security()`; a
 * flood of garbage initiations is cut by the data path's token bucket and costs bounded CPU. Initiations of
 * the peer that never complete hold one rx slot, so the keys in use keep working.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createInitiation, identity, peerKey, INITIATION_LENGTH, MSG_INITIATION } from '../../../src/crypto/handshake.js';
import { generateKeyPair } from '../../../src/crypto/noise.js';
import { compileRouter } from '../../../src/model/compile.js';
import { buildUdp } from '../../../src/packet/build.js';
import { createMemoryLab } from '../../../src/sim/memory-lab.js';
import { exampleConfig, sleep, until, waitFor } from '../../support/config.js';
import { handshakeConfig } from '../../support/handshake-config.js';

const dir = mkdtempSync(join(tmpdir(), 'svr-kx-abuse-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));

const R1_WP = Uint8Array.of(198, 18, 12, 1);
const R2_WP = Uint8Array.of(198, 18, 12, 2);
const CONTROL = 1280;
const FLOOD = 3000;

test('garbage, a stranger and a replay create no state and are counted by reason; a flood is cut in the data path at bounded CPU', async () => {
  const { config, identities } = handshakeConfig(await exampleConfig(), dir);
  const lab = createMemoryLab({ config, clients: [], servers: [], router: { keyExchange: { timings: { rekeyAfterMs: 600_000 } } } });
  const send = (payload: Uint8Array) => lab.wan.a.send(buildUdp({ src: R1_WP, dst: R2_WP, srcPort: CONTROL, dstPort: CONTROL, payload }));
  const view = () => lab.r2.security().paths[0]!;
  const counter = (name: string) => lab.r2.counters()[name as 'rx-packets'] ?? 0;
  try {
    assert.ok(await until(() => lab.r1.security().paths[0]!.tx !== undefined && view().tx !== undefined, 3000), 'keys agreed');
    const keys = JSON.stringify([view().tx?.keyId, view().tx?.securityId, view().handshakes]);

    const garbage = randomBytes(INITIATION_LENGTH);
    garbage.set([MSG_INITIATION, 0, 0, 0], 0);
    send(garbage);
    const psk = compileRouter(config, 'r1', 1).paths[0]!.hmac.key;
    const stranger = createInitiation(identity(generateKeyPair()), peerKey(identities['r2']!.publicKey, psk), 77, Date.now());
    send(stranger.message);
    send(createInitiation(identity(identities['r1']!), peerKey(identities['r2']!.publicKey, psk), 78, Date.now() - 3_600_000).message);
    const refused = () => view().refused ?? {};
    assert.ok(await until(() => (refused()['bad-mac1'] ?? 0) >= 1 && (refused()['unknown-key'] ?? 0) >= 1 && (refused()['replayed'] ?? 0) >= 1, 2000), JSON.stringify(refused()));
    assert.is(JSON.stringify([view().tx?.keyId, view().tx?.securityId, view().handshakes]), keys, 'no state: same keys, no new handshake');

    const received = counter('handshake-messages-received');
    const mac1 = refused()['bad-mac1']!;
    const cpu = process.cpuUsage();
    const t0 = performance.now();
    for (let i = 0; i < FLOOD; i++) send(garbage);
    const arrived = () => counter('handshake-messages-received') - received + counter('drop-handshake-rate');
    assert.ok(await until(() => arrived() === FLOOD, 5000), `the flood arrived (${arrived()})`);
    assert.ok(await until(() => refused()['bad-mac1']! - mac1 === counter('handshake-messages-received') - received, 2000), 'each one control saw refused at mac1, before any DH');
    const used = process.cpuUsage(cpu);
    const ms = performance.now() - t0;
    const passed = counter('handshake-messages-received') - received;
    const perMessageUs = (used.user + used.system) / FLOOD;
    console.log(`    ${FLOOD} garbage initiations in ${ms.toFixed(0)} ms: ${passed} reached control (bucket 100 + 500/s), ${counter('drop-handshake-rate')} dropped in the data path; `
      + `${perMessageUs.toFixed(1)} µs CPU per message, both routers and the link included`);
    assert.ok(passed <= 100 + Math.ceil((500 * ms) / 1000) + 1, 'at most the bucket reached control');
    assert.ok(perMessageUs < 200, `bounded CPU: ${perMessageUs.toFixed(1)} µs a message (a DH alone is ~40 µs)`);
    assert.is(JSON.stringify([view().tx?.keyId, view().tx?.securityId, view().handshakes]), keys, 'the keys untouched by the flood');
  } finally {
    await lab.close();
  }
});

test('initiations of the peer that never complete (their responses refused) hold one rx slot: the keys in use keep working', async () => {
  const { config, identities } = handshakeConfig(await exampleConfig(), dir);
  const lab = createMemoryLab({ config, clients: ['198.18.1.10'], servers: ['198.18.3.20'], router: { keyExchange: { timings: { rekeyAfterMs: 600_000 } } } });
  const psk = compileRouter(config, 'r1', 1).paths[0]!.hmac.key;
  const r1 = identity(identities['r1']!);
  const r2 = peerKey(identities['r2']!.publicKey, psk);
  const seen = new Set<number>();
  const stream = async (from: number, n: number): Promise<void> => {
    for (let i = from; i < from + n; i++) lab.clients[0]!.udpSend(41000, '198.18.3.20', 7, Buffer.from(`n ${i}`));
    assert.ok(await until(() => [...Array(n).keys()].every((i) => seen.has(from + i)), 5000), `datagrams ${from}..${from + n - 1} arrived (${seen.size} so far)`);
  };
  try {
    assert.ok(await until(() => lab.r1.security().paths[0]!.tx !== undefined && lab.r2.security().paths[0]!.tx !== undefined, 3000), 'keys agreed');
    lab.servers[0]!.udpBind(7, (d) => seen.add(Number(Buffer.from(d).toString().split(' ')[1])));
    await stream(0, 20); // r2's rx key is in use
    const before = lab.r2.security().paths[0]!.rx.length; // 2 after crossed first handshakes (both started at once), else 1
    // r1's own initiations, each newer than the last, whose responses r1 refuses (it holds no state for them): what
    // a one-sided change of the pre-shared key looks like to r2
    for (let i = 1; i <= 6; i++) {
      lab.wan.a.send(buildUdp({ src: R1_WP, dst: R2_WP, srcPort: CONTROL, dstPort: CONTROL, payload: createInitiation(r1, r2, 1000 + i, Date.now() + i).message }));
      await waitFor(() => `unknown-index refusal ${i} (${JSON.stringify(lab.r1.security().paths[0]!.refused)})`, () => (lab.r1.security().paths[0]!.refused?.['unknown-index'] ?? 0) >= i, 2000);
      await sleep(100); // the token bucket: 20 a second per path
    }
    await stream(20, 20);
    assert.is(lab.r2.counters()['drop-unknown-key'] ?? 0, 0, 'nothing refused for its key');
    const replaced = lab.r2.security().counters['handshake-unconfirmed-replaced'] ?? 0;
    assert.is(replaced, 5, 'each response after the first replaced the unconfirmed one before it');
    const rx = lab.r2.security().paths[0]!.rx;
    assert.is(rx.length, before + 1, `rx keys: those of the first handshake and one unconfirmed (${JSON.stringify(rx)})`);
  } finally {
    await lab.close();
  }
});

test.run();
