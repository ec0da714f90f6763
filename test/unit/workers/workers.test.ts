import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createHash, randomBytes } from 'node:crypto';
import { exampleConfig, until } from '../../support/config.js';
import { createWorkerLab } from '../../support/worker-lab.js';

const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

test('with 2 workers, sessions spread over both, packets that land on the wrong worker are handed over, transfers are intact', async () => {
  const lab = await createWorkerLab(await exampleConfig(), 2);
  try {
    // 24 UDP sessions: echo replies come back through r1's workers
    lab.server.udpBind(7, (d, f) => lab.server.udpSend(7, f.address, f.port, d));
    const replies = new Set<number>();
    for (let i = 0; i < 24; i++) {
      const port = 42000 + i;
      lab.client.udpBind(port, () => replies.add(port));
      lab.client.udpSend(port, '198.18.3.20', 7, Buffer.from(`hello ${i}`));
    }
    assert.ok(await until(() => replies.size === 24, 5000), `replies ${replies.size}/24`);
    // a TCP transfer, 1 MB each way
    const up = randomBytes(1 << 20);
    const down = randomBytes(1 << 20);
    let serverGot = '';
    lab.server.tcpListen(80, (c) => void c.readAll().then((d) => { serverGot = sha(d); c.write(down); c.end(); }));
    const conn = await lab.client.tcpConnect('198.18.3.20', 80);
    conn.write(up);
    conn.end();
    assert.is(sha(await conn.readAll()), sha(down), 'download intact');
    assert.ok(await until(() => serverGot !== ''));
    assert.is(serverGot, sha(up), 'upload intact');
    const sessions = await lab.r1.sessions();
    const perWorker = [0, 1].map((w) => sessions.filter((s) => s.worker === w).length);
    assert.ok(perWorker[0]! > 0 && perWorker[1]! > 0, `sessions on both workers: ${perWorker}`);
    assert.is(perWorker[0]! + perWorker[1]!, 25);
    const c = lab.r1.counters();
    assert.ok((c['consumed-handed-off'] ?? 0) > 0, 'some packets were handed over');
    assert.is(c['sessions-created'], 25, 'each session created once, on its owner');
    assert.is(new Set(sessions.map((s) => s.id)).size, 25);
  } finally {
    await lab.close();
  }
});

test.run();
