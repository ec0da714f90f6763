/**
 * `ip -batch` (io/tun/link.ts runIpBatch, a router pair's role change in one process): in a fresh namespace,
 * a device created, addressed and routed by one batch; a batch whose second command fails rejects with a
 * coded error naming the commands, after the first ran; an argument with white space is refused before
 * anything runs. Needs root and ip.
 */
import { spawnSync } from 'node:child_process';
import * as assert from 'uvu/assert';
import { runIpBatch } from '../../../src/io/tun/link.js';
import { SvrError } from '../../../src/errors.js';
import { inNetns } from '../../support/netns-helper.js';
import { requires } from '../../support/prerequisites.js';

const test = requires(import.meta.url);

const ipJson = (ns: string, ...args: string[]): unknown => JSON.parse(spawnSync('ip', ['-n', ns, '-j', ...args], { encoding: 'utf8' }).stdout || '[]');

test('one ip -batch runs every command in order; the first failure stops it with a coded error', async () => {
  await inNetns('ipbatch', async (ns) => {
    await runIpBatch([
      ['link', 'add', 'b0', 'type', 'veth', 'peer', 'name', 'b0p'],
      ['link', 'set', 'dev', 'b0', 'mtu', '1400', 'up'],
      ['addr', 'replace', '198.18.78.1/24', 'dev', 'b0'],
      ['route', 'replace', '198.18.79.0/24', 'dev', 'b0', 'table', '77'],
    ], { netns: ns });
    const link = (ipJson(ns, 'link', 'show', 'dev', 'b0') as { mtu: number }[])[0]!;
    assert.is(link.mtu, 1400);
    const addrs = (ipJson(ns, 'addr', 'show', 'dev', 'b0') as { addr_info: { local: string }[] }[])[0]!.addr_info.map((a) => a.local);
    assert.ok(addrs.includes('198.18.78.1'), JSON.stringify(addrs));
    assert.equal((ipJson(ns, 'route', 'show', 'table', '77') as { dst: string }[]).map((r) => r.dst), ['198.18.79.0/24']);

    const failed = await runIpBatch([['link', 'add', 'b1', 'type', 'veth', 'peer', 'name', 'b1p'], ['link', 'set', 'dev', 'nosuchdev', 'up'], ['link', 'add', 'b2', 'type', 'veth', 'peer', 'name', 'b2p']], { netns: ns })
      .then(() => undefined, (e: unknown) => e);
    assert.ok(failed instanceof SvrError && failed.code === 'SVR_ERR_IO_TUN_LINK', String(failed));
    assert.match((failed as Error).message, /nosuchdev/);
    const names = (ipJson(ns, 'link', 'show') as { ifname: string }[]).map((l) => l.ifname);
    assert.ok(names.includes('b1') && !names.includes('b2'), `stops at the failure: ${names.join(', ')}`);

    const refused = await runIpBatch([['addr', 'add', '198.18.78.2/24 dev b0']], { netns: ns }).then(() => undefined, (e: unknown) => e);
    assert.ok(refused instanceof SvrError, 'white space in an argument is refused');
  });
});

test.run();
