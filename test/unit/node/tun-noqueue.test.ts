// host-setup.ts tunNoQueue: the node's TUN devices without the pfifo_fast the kernel gives them (a TUN never pushes
// back, so the qdisc only costs an enqueue and a dequeue per packet the node reads; docs/performance.md wave 21 tcp10).
import * as assert from 'uvu/assert';
import { execFileSync } from 'node:child_process';
import { tunNoQueue } from '../../../src/node/host-setup.js';
import { inNetns } from '../../support/netns-helper.js';
import { requires } from '../../support/prerequisites.js';

const test = requires(import.meta.url);
const qdisc = (ns: string, dev: string): string => execFileSync('tc', ['-n', ns, 'qdisc', 'show', 'dev', dev], { encoding: 'utf8' });
const tun = (ns: string, dev: string): void => {
  execFileSync('ip', ['-n', ns, 'tuntap', 'add', 'dev', dev, 'mode', 'tun']);
  execFileSync('ip', ['-n', ns, 'link', 'set', 'dev', dev, 'up']);
};

test('the devices get noqueue; SVR_TUN_NOQUEUE=0 keeps their qdisc', async () => {
  await inNetns('nq', async (ns) => {
    tun(ns, 'svrnq0');
    tun(ns, 'svrnq1');
    assert.match(qdisc(ns, 'svrnq0'), /pfifo_fast/, 'what the kernel gives a TUN');
    process.env['SVR_TUN_NOQUEUE'] = '0';
    try {
      assert.is(await tunNoQueue(['svrnq0', 'svrnq1'], ns), undefined);
      assert.match(qdisc(ns, 'svrnq0'), /pfifo_fast/, 'kept');
    } finally {
      delete process.env['SVR_TUN_NOQUEUE'];
    }
    assert.is(await tunNoQueue(['svrnq0', 'svrnq1'], ns), undefined);
    assert.match(qdisc(ns, 'svrnq0'), /noqueue/);
    assert.match(qdisc(ns, 'svrnq1'), /noqueue/);
  });
});

test('a device that is not there is reported, not thrown; the others still get noqueue', async () => {
  await inNetns('nq', async (ns) => {
    tun(ns, 'svrnq2');
    const why = await tunNoQueue(['svrnq9', 'svrnq2'], ns);
    assert.type(why, 'string');
    assert.match(qdisc(ns, 'svrnq2'), /noqueue/, 'tc -force goes on after the failed line');
  });
});

test.run();
