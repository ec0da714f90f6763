import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { PcapWriter } from '../../../src/io/pcap.js';
import { createMemoryLab } from '../../../src/sim/memory-lab.js';
import { configToDocument } from '../../../src/model/serialize.js';
import { exampleConfig, waitFor } from '../../support/config.js';

const run = promisify(execFile);
const SVR = fileURLToPath(new URL('../../../../bin/svr.js', import.meta.url));

test('svr decode on a pcap of the R1-R2 link round-trips every metadata field the routers sent', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'svr-decode-'));
  const file = join(dir, 'wan.pcap');
  const pcap = new PcapWriter(file);
  const lab = createMemoryLab({ config: await exampleConfig(), clients: ['198.18.1.10'], servers: ['198.18.3.20'] });
  try {
    lab.wan.observe((pkt, _dir, t) => pcap.write(pkt, t));
    lab.servers[0]!.udpBind(7, (d, from) => lab.servers[0]!.udpSend(7, from.address, from.port, d));
    let replies = 0;
    lab.clients[0]!.udpBind(40001, () => replies++);
    lab.clients[0]!.udpSend(40001, '198.18.3.20', 7, Buffer.from('one'));
    await waitFor('reply 1', () => replies === 1);
    lab.clients[0]!.udpSend(40001, '198.18.3.20', 7, Buffer.from('two'));
    await waitFor('reply 2', () => replies === 2);
    pcap.close();
    const session = (await lab.r1.sessions())[0]!;
    const { stdout } = await run(process.execPath, [SVR, 'decode', file]);
    // the session's packets (not the firewall detector's probes and answers: auto-detect is the default)
    const lines = stdout.trim().split('\n').map((l) => JSON.parse(l)).filter((l) => l.control === undefined);
    assert.is(lines.length, 4, 'two packets each way');
    const [fwd, rev, fwd2, rev2] = lines;
    assert.equal(fwd.outer, { ...fwd.outer, src: '198.18.12.1', dst: '198.18.12.2', srcPort: session.waypoint!.srcPort, dstPort: session.waypoint!.dstPort, protocol: 17 });
    const m = fwd.metadata;
    assert.is(m.version, 1);
    assert.is(m.falsePositive, false);
    assert.equal(m.forward, { src: '198.18.1.10', dst: '198.18.3.20', srcPort: 40001, dstPort: 7, protocol: 17 });
    assert.is(m.sessionId, session.id, 'session id as shown by the router');
    assert.is(m.tenant, 'engineering');
    assert.is(m.service, 'echo');
    assert.is(m.sourceRouter, 'r1');
    assert.is(m.securityId, 1);
    assert.is(m.payloadEncrypted, false);
    assert.equal(m.tlvs.map((t: { type: number }) => t.type), [16, 2, 7, 10, 6, 14], 'TLVs in our fixed order');
    assert.is(m.malformed, undefined);
    const r = rev.metadata;
    assert.equal(r.reverse, { src: '198.18.3.20', dst: '198.18.1.10', srcPort: 7, dstPort: 40001, protocol: 17 });
    assert.is(r.disableForwardMetadata, true);
    assert.equal(r.tlvs.map((t: { type: number }) => t.type), [16, 4, 18]);
    assert.is(fwd2.metadata, undefined, 'no metadata after the handshake');
    assert.is(rev2.metadata, undefined);
  } finally {
    await lab.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('svr decode on the routers\' own encrypted metadata: encrypted with its security id; with --config decrypted, trailer checked', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'svr-decode-'));
  const file = join(dir, 'wan.pcap');
  const pcap = new PcapWriter(file);
  const config = await exampleConfig();
  Object.assign(config.authority.securityPolicies.find((p) => p.name === 'internal')!, { encrypt: true, keyVersion: 4 });
  const lab = createMemoryLab({ config, clients: ['198.18.1.10'], servers: ['198.18.3.20'] });
  try {
    lab.wan.observe((pkt, _dir, t) => pcap.write(pkt, t));
    lab.servers[0]!.udpBind(7, (d, from) => lab.servers[0]!.udpSend(7, from.address, from.port, d));
    for (let i = 0; i < 20; i++) lab.clients[0]!.udpSend(40002 + i, '198.18.3.20', 7, Buffer.from('one')); // 20 sessions: 40 metadata packets
    await waitFor('20 sessions with their handshakes complete', async () => { const l = await lab.r1.sessions(); return l.length === 20 && l.every((s) => s.handshake === 'complete'); });
    pcap.close();
    const plain = (await run(process.execPath, [SVR, 'decode', file, '--metadata-only', '--summary'])).stdout.trim().split('\n').map((l) => JSON.parse(l));
    const summary = plain.pop().summary;
    assert.ok(summary.metadata >= 40 && summary.encrypted === summary.metadata && summary.malformed === 0, JSON.stringify(summary));
    for (const line of plain) {
      assert.is(line.metadata.encrypted, true);
      assert.is(line.metadata.securityId, 4, 'the security id header TLV is clear');
      assert.is(line.metadata.tenant, undefined, 'nothing read from the ciphertext');
    }
    const cfg = join(dir, 'authority.json');
    writeFileSync(cfg, JSON.stringify(configToDocument(config)));
    const keyed = (await run(process.execPath, [SVR, 'decode', file, '--config', cfg])).stdout.trim().split('\n').map((l) => JSON.parse(l)).filter((l) => l.control === undefined);
    const first = keyed[0];
    assert.is(first.path, 'r1: wan0->r2/wan0');
    assert.equal({ ...first.trailer, counter: typeof first.trailer.counter }, { keyId: 5, sender: 0, counter: 'string', hmac: 'ok' });
    assert.is(first.metadata.decrypted, true);
    assert.is(first.metadata.tenant, 'engineering');
    assert.is(first.metadata.securityId, 4);
    assert.ok(keyed.every((l) => l.trailer?.hmac === 'ok'), 'every packet signed and its HMAC checks');
    const counters = keyed.filter((l) => l.path === first.path).map((l) => BigInt(l.trailer.counter));
    assert.ok(counters.every((c, i) => i === 0 || c > counters[i - 1]!), 'counters increase packet by packet');
  } finally {
    await lab.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
