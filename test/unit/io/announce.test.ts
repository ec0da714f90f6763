/**
 * Announcing a moved address over a real veth (io/announce.ts through native/packet-socket.c): two
 * namespaces (svrt-announce-<pid>-<n>) joined by a veth; B's neighbour entry for an address points to a
 * stale MAC (the node that held it before); A announces the address: B's entry now holds A's MAC. Both
 * IPv4 (gratuitous ARP) and IPv6 (unsolicited NA). A missing device is a coded error. Needs root and ip.
 */
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as assert from 'uvu/assert';
import { inNetns } from '../../support/netns-helper.js';
import { requires } from '../../support/prerequisites.js';

const test = requires(import.meta.url);
const ANNOUNCE = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'src', 'io', 'announce.js');
const OLD_MAC = '02:00:5e:00:00:99';

function ip(...args: string[]): string {
  const r = spawnSync('ip', args, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`ip ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

/** Runs announceAddress(dev, address) in namespace ns; resolves with the error message, if any. */
function announceIn(ns: string, dev: string, address: string): string {
  const script = `import(${JSON.stringify(ANNOUNCE)}).then((m) => m.announceAddress(${JSON.stringify(dev)}, ${JSON.stringify(address)}, 2, 20)).then(() => console.log('OK'), (e) => console.log('ERR ' + e.code + ' ' + e.message))`;
  const r = spawnSync('ip', ['netns', 'exec', ns, process.execPath, '-e', script], { encoding: 'utf8' });
  return r.stdout.trim() + r.stderr.trim();
}

function neighbour(ns: string, dev: string, address: string): string | undefined {
  const list = JSON.parse(ip('-n', ns, '-j', 'neigh', 'show', 'dev', dev)) as { dst: string; lladdr?: string }[];
  return list.find((n) => n.dst === address)?.lladdr;
}

test('a gratuitous ARP and an unsolicited NA replace a neighbour\'s stale MAC; an unknown device is a coded error', async () => {
  await inNetns('announce', (a) => inNetns('announce', async (b) => {
    ip('-n', a, 'link', 'add', 'ann-a', 'type', 'veth', 'peer', 'name', 'ann-b', 'netns', b);
    for (const [ns, dev, v4, v6] of [[a, 'ann-a', '198.18.77.1/24', '2001:db8:77::1/64'], [b, 'ann-b', '198.18.77.2/24', '2001:db8:77::2/64']] as const) {
      ip('-n', ns, 'addr', 'add', v4, 'dev', dev);
      ip('-n', ns, 'addr', 'add', v6, 'dev', dev, 'nodad');
      ip('-n', ns, 'link', 'set', dev, 'up');
    }
    const mac = (JSON.parse(ip('-n', a, '-j', 'link', 'show', 'dev', 'ann-a')) as { address: string }[])[0]!.address;
    for (const addr of ['198.18.77.1', '2001:db8:77::1']) {
      ip('-n', b, 'neigh', 'replace', addr, 'lladdr', OLD_MAC, 'dev', 'ann-b', 'nud', 'stale');
      assert.is(neighbour(b, 'ann-b', addr), OLD_MAC);
      // up to three rounds of two announcements (B's IPv6 may still be starting on a link that just came up)
      let seen: string | undefined;
      for (let round = 0; round < 3 && seen !== mac; round++) {
        assert.is(announceIn(a, 'ann-a', addr), 'OK');
        for (let i = 0; i < 25 && seen !== mac; i++) {
          await new Promise((r) => setTimeout(r, 20));
          seen = neighbour(b, 'ann-b', addr);
        }
      }
      assert.is(seen, mac, `${addr}: B's neighbour entry follows the announcement`);
    }
    const missing = announceIn(a, 'no-such-dev', '198.18.77.1');
    assert.ok(missing.startsWith('ERR SVR_ERR_IO_TUN_LINK') || missing.startsWith('ERR SVR_ERR_HA_ADDRESS'), missing);
  }));
});

test.run();
