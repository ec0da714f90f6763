import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { PcapWriter } from '../../../src/io/pcap.js';
import { createMemoryLab } from '../../../src/sim/memory-lab.js';
import { exampleConfig, until } from '../../support/config.js';

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
    await until(() => replies === 1);
    lab.clients[0]!.udpSend(40001, '198.18.3.20', 7, Buffer.from('two'));
    await until(() => replies === 2);
    pcap.close();
    const session = (await lab.r1.sessions())[0]!;
    const { stdout } = await run(process.execPath, [SVR, 'decode', file]);
    const lines = stdout.trim().split('\n').map((l) => JSON.parse(l));
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

test.run();
