/**
 * Packet-based session recovery (ssr-reference "Session recovery detection", docs/wan.md) in the memory
 * lab: r2 loses its sessions (removed from its data path) while r1's UDP session goes on; r1's next packet,
 * without metadata, is answered with "enable-metadata", r1's session sends its metadata again and r2 opens
 * the session anew: the echo resumes with the same session on r1. Answers are rate-limited.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createMemoryLab } from '../../../src/sim/memory-lab.js';
import { ENABLE_METADATA_RATE } from '../../../src/dataplane/stages/session-lookup.js';
import { exampleConfig, sleep, until } from '../../support/config.js';

test('r2 lost the session: r1\'s next packet gets "enable-metadata", r1 re-signals and the echo resumes on the same session', async () => {
  const lab = createMemoryLab({ config: await exampleConfig(), clients: ['198.18.1.10'], servers: ['198.18.3.20'] });
  try {
    let replies = 0;
    lab.servers[0]!.udpBind(7, (data, from) => lab.servers[0]!.udpSend(7, from.address, from.port, data));
    lab.clients[0]!.udpBind(40000, () => void replies++);
    const send = (): void => lab.clients[0]!.udpSend(40000, '198.18.3.20', 7, Uint8Array.of(1, 2, 3));
    send();
    assert.ok(await until(() => replies === 1), 'the echo came back');
    send();
    assert.ok(await until(() => replies === 2), 'again, without metadata now');
    const [before] = await lab.r1.sessions();
    lab.r2.host.dataplane.removeAll('shutdown'); // r2 forgets every session (as after a restart)
    assert.is((await lab.r2.sessions()).length, 0);
    send(); // no metadata: r2 has no session for it
    assert.ok(await until(() => (lab.r2.counters()['enable-metadata-sent'] ?? 0) === 1), 'r2 asked for metadata');
    assert.ok(await until(() => (lab.r1.counters()['sessions-resignalled-enable'] ?? 0) === 1), 'r1 re-signals');
    assert.is(replies, 2, 'that packet was lost');
    send(); // with metadata again: r2 opens the session anew
    assert.ok(await until(() => replies === 3), 'the echo resumed');
    const [after] = await lab.r1.sessions();
    assert.is(after!.id, before!.id, 'the same session on r1');
    assert.is((await lab.r2.sessions())[0]?.id, before!.id, 'r2 holds it again, by the same id');
    send();
    assert.ok(await until(() => replies === 4));
    assert.is(lab.r2.counters()['enable-metadata-sent'], 1, 'asked once');
  } finally {
    await lab.close();
  }
});

test('"enable-metadata" answers are rate-limited: a burst of packets of an unknown flow gets at most the burst answered', async () => {
  const lab = createMemoryLab({ config: await exampleConfig(), clients: ['198.18.1.10'], servers: ['198.18.3.20'] });
  try {
    let replies = 0;
    lab.servers[0]!.udpBind(7, (data, from) => lab.servers[0]!.udpSend(7, from.address, from.port, data));
    lab.clients[0]!.udpBind(40000, () => void replies++);
    lab.clients[0]!.udpSend(40000, '198.18.3.20', 7, Uint8Array.of(1));
    assert.ok(await until(() => replies === 1), 'the session is open and confirmed (reverse metadata)');
    lab.r2.host.dataplane.removeAll('shutdown');
    // r1 keeps sending without metadata until the first answer arrives: the answers stay few
    for (let i = 0; i < 200; i++) lab.clients[0]!.udpSend(40000, '198.18.3.20', 7, Uint8Array.of(3));
    assert.ok(await until(() => (lab.r2.counters()['enable-metadata-sent'] ?? 0) >= 1));
    await sleep(100);
    const c = lab.r2.counters();
    assert.ok((c['enable-metadata-sent'] ?? 0) <= 20 + ENABLE_METADATA_RATE / 5, `few answers: ${c['enable-metadata-sent']}, rate-limited ${c['enable-metadata-rate-limited'] ?? 0}`);
  } finally {
    await lab.close();
  }
});

test.run();
