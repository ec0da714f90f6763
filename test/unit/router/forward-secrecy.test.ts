/**
 * Forward secrecy of `key-exchange: handshake` (docs/security.md "Key schedule"): two routers exchange keys
 * and rekey while sessions flow; the WAN link is captured to a pcap. Afterwards an attacker holds the
 * capture, the config (authority secret, so the pre-shared key too) and both routers' long-term private
 * keys, but not the ephemeral keys the routers erased:
 * - `svr decode --config` (every key the config and the key files give) verifies no trailer and decrypts
 *   no metadata of the capture;
 * - replaying each captured initiation to the responder's long-term key opens it (the identity is that
 *   key's to read) but yields a fresh ephemeral and so other keys: they verify no captured packet;
 * - each epoch's keys (recorded here as the routers installed them, before they were erased) open exactly
 *   the packets of their own epoch: the check can succeed, and an old key opens nothing sent after a rekey.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { consumeInitiation, createResponse, dataPathKeys, identity, peerKey, MSG_INITIATION } from '../../../src/crypto/handshake.js';
import { verifyTrailer } from '../../../src/crypto/hmac.js';
import { BatchCipher } from '../../../src/crypto/native-crypto.js';
import { equalBytes } from '../../../src/crypto/noise.js';
import type { PathKeyMaterial } from '../../../src/dataplane/path-keys.js';
import { PcapWriter } from '../../../src/io/pcap.js';
import { compileRouter } from '../../../src/model/compile.js';
import { configToDocument } from '../../../src/model/serialize.js';
import { hasCookie } from '../../../src/packet/svr-metadata.js';
import { decodeMetadata } from '../../../src/packet/svr-metadata-decode.js';
import { decryptMetadata } from '../../../src/cli/decode-keys.js';
import { createMemoryLab } from '../../../src/sim/memory-lab.js';
import { exampleConfig, until, waitFor } from '../../support/config.js';
import { handshakeConfig } from '../../support/handshake-config.js';
import { SIGNED_TRAILER } from '../../support/wire.js';

const run = promisify(execFile);
const SVR = fileURLToPath(new URL('../../../../bin/svr.js', import.meta.url));
// rekey on count, not on time: every key epoch signs REKEY_PACKETS packets whatever the load; retries and the
// confirmation wait far beyond any event-loop lag (the memory link loses nothing; at load 20 a retry 200 ms after an
// initiation replaced it before its response came, and the keys were not agreed within 10 s)
const REKEY_PACKETS = 40;
const TIMINGS = { rekeyAfterMs: 600_000, rekeyAfterPackets: REKEY_PACKETS, retryMs: 20_000, overlapMs: 300, confirmTimeoutMs: 20_000 };
const CONTROL = 1280;
const L4 = 28; // IPv4 without options + UDP
const dport = (p: Uint8Array) => (p[22]! << 8) | p[23]!;
const keyIdOf = (p: Uint8Array) => p[p.length - SIGNED_TRAILER]!;

/** True when the metadata of `p` decrypts under `metaKey` (AES-256-CBC) into TLVs that name a tenant and service. */
function metadataOpens(p: Uint8Array, metaKey: Uint8Array): boolean {
  const c = BatchCipher.create('aes-256-cbc', metaKey);
  try {
    const plain = decryptMetadata(c, p.subarray(L4, p.length - SIGNED_TRAILER));
    const m = plain === undefined ? null : decodeMetadata(plain, 0, plain.length);
    return m !== null && m.malformed === undefined && m.tenant !== undefined && m.service !== undefined;
  } finally {
    c.destroy();
  }
}

test('after rekeys, a capture cannot be verified or decrypted with the config, the long-term keys or another epoch\'s keys', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'svr-fs-'));
  const { config, identities } = handshakeConfig(await exampleConfig(), dir, { hmacMode: 'regular', encrypt: true });
  const configFile = join(dir, 'authority.json');
  writeFileSync(configFile, JSON.stringify(configToDocument(config)));
  const lab = createMemoryLab({ config, clients: ['198.18.1.10'], servers: ['198.18.3.20'], router: { keyExchange: { timings: TIMINGS, usageIntervalMs: 50 } } });
  // the keys r1 sends with, as it installs them (the routers erase them later; an attacker never has them)
  const epochs: PathKeyMaterial[] = [];
  const install = lab.r1.host.setPathKeys.bind(lab.r1.host);
  lab.r1.host.setPathKeys = (path, keys, activeAt, overlapMs) => {
    if (keys.tx !== undefined && !epochs.some((k) => equalBytes(k.hmacKey, keys.tx!.hmacKey))) epochs.push(keys.tx);
    install(path, keys, activeAt, overlapMs);
  };
  const pcapFile = join(dir, 'wan.pcap');
  const pcap = new PcapWriter(pcapFile);
  const data: Uint8Array[] = [];
  const initiations: { msg: Uint8Array; toR2: boolean }[] = [];
  lab.wan.observe((pkt, d, timeMs) => {
    pcap.write(pkt, timeMs);
    if (dport(pkt) === CONTROL && pkt[L4] === MSG_INITIATION) initiations.push({ msg: pkt.slice(L4), toR2: d === 'a->b' });
    else if (dport(pkt) !== CONTROL && d === 'a->b') data.push(pkt.slice());
  });
  try {
    assert.ok(await until(() => lab.r1.security().paths[0]!.tx !== undefined && lab.r2.security().paths[0]!.tx !== undefined, 30_000), 'keys agreed');
    let got = 0;
    lab.servers[0]!.udpBind(7, () => got++);
    let sent = 0;
    // a new session every 10 ms (first packets: metadata) and a long one (data packets); a rekey every REKEY_PACKETS of them
    const timer = setInterval(() => {
      lab.clients[0]!.udpSend(42000 + (sent % 2000), '198.18.3.20', 7, Buffer.from(`secret ${sent}`));
      lab.clients[0]!.udpSend(41000, '198.18.3.20', 7, Buffer.from(`long ${sent}`));
      sent += 2;
    }, 10);
    const rekeys = () => lab.r1.security().paths[0]!.rekeys!;
    const first = rekeys();
    assert.ok(await until(() => rekeys() >= first + 3, 30_000), 'three rekeys');
    clearInterval(timer);
    await waitFor(() => `the last datagrams in flight (${got} of ${sent})`, () => got === sent); // the last ones in flight: their turns, not 100 ms (22 of 24 at load 25)
    assert.is(got, sent, 'nothing lost across the rekeys');
  } finally {
    await lab.close();
    pcap.close();
  }
  try {
    const ids = new Set(data.map(keyIdOf));
    assert.ok(epochs.length >= 3 && ids.size >= 3, `several epochs (${epochs.length} keys, key ids ${[...ids].join(',')})`);
    const withMetadata = data.filter((p) => hasCookie(p, L4, p.length - L4));
    assert.ok(withMetadata.length >= 10, `metadata packets captured (${withMetadata.length})`);

    // 1. svr decode with the config and key files: no trailer verifies, no metadata decrypts
    const out = (await run(process.execPath, [SVR, 'decode', pcapFile, '--config', configFile])).stdout.trim().split('\n').map((l) => JSON.parse(l) as {
      path?: string; trailer?: { hmac: string }; metadata?: { encrypted?: boolean; decrypted?: boolean }; outer?: { dstPort: number };
    });
    const signed = out.filter((d) => d.trailer !== undefined && d.outer?.dstPort !== CONTROL);
    assert.ok(signed.length >= data.length, `svr decode saw the signed packets (${signed.length})`);
    assert.equal(signed.filter((d) => d.trailer!.hmac === 'ok').length, 0, 'no trailer verifies with the config\'s keys');
    const encrypted = out.filter((d) => d.metadata?.encrypted === true);
    assert.ok(encrypted.length >= withMetadata.length, `metadata shows as encrypted (${encrypted.length})`);
    assert.equal(encrypted.filter((d) => d.metadata!.decrypted === true).length, 0, 'no metadata decrypts with the config\'s keys');

    // 2. the long-term keys: each captured initiation opens under the responder's private key, but the
    //    response an attacker can make has its own ephemeral: its keys open nothing captured
    const cipher = compileRouter(config, 'r1', 1).paths[0]!;
    const psk = cipher.hmac.key;
    const r1 = identity(identities['r1']!);
    const r2 = identity(identities['r2']!);
    assert.ok(initiations.length >= 3, `initiations captured (${initiations.length})`);
    const guesses: Uint8Array[] = [];
    for (const { msg, toR2 } of initiations) {
      const [self, other] = toR2 ? [r2, r1] : [r1, r2];
      const accepted = consumeInitiation(self, msg, (pub) => (equalBytes(pub, other.keys.publicKey) ? peerKey(pub, psk) : undefined));
      assert.type(accepted, 'object', 'the long-term key opens the initiation');
      if (typeof accepted !== 'object') continue;
      const { keys } = createResponse(accepted, 1);
      for (const traffic of [keys.send, keys.receive]) guesses.push(dataPathKeys(traffic, 32).hmacKey);
    }
    const verifies = (p: Uint8Array, key: Uint8Array) => verifyTrailer(cipher.hmac.cipher, key, p, L4, p.length, -1);
    const opened = data.filter((p) => guesses.some((k) => verifies(p, k))).length;
    assert.is(opened, 0, `keys derived with the long-term keys verify none of ${data.length} packets`);

    // 3. each epoch's own keys open exactly its own packets, metadata included: never another epoch's
    for (const p of data) {
      const under = epochs.filter((k) => verifies(p, k.hmacKey));
      assert.is(under.length, 1, `a packet with key id ${keyIdOf(p)} verifies under exactly one epoch's key`);
      assert.is(under[0]!.keyId, keyIdOf(p));
    }
    for (const p of withMetadata) {
      const opens = epochs.filter((k) => metadataOpens(p, k.metaKey!));
      assert.is(opens.length, 1, 'its metadata decrypts under exactly one epoch\'s key');
    }
    console.log(`    ${data.length} packets over ${epochs.length} key epochs (${withMetadata.length} with metadata), ${initiations.length} initiations: `
      + `svr decode --config verified 0/${signed.length} trailers and decrypted 0/${encrypted.length} metadata; long-term-key guesses opened 0; each epoch's key opened only its own`);
  } finally {
    if (process.env.S2_KEEP === undefined) rmSync(dir, { recursive: true, force: true }); else console.log("kept", dir);
  }
});

test.run();
