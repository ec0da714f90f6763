/**
 * The WAN case's "ICMP dropped" link (bench/wan.ts dropLinkIcmp) on a real veth between two namespaces (needs root,
 * ip, nft, python3; otherwise counted as skipped): a UDP datagram to a closed port on the other end comes back as
 * ICMP port unreachable (the sender's recv is refused) without the rule; with it, from either end, nothing comes
 * back; and the rule's only chains are ingress chains on the link's devices, so no other packet of either
 * namespace (a router's LAN, its own output) passes a chain.
 */
import * as assert from 'uvu/assert';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { dropLinkIcmp } from '../../../bench/wan.js';
import { inNetns } from '../../support/netns-helper.js';
import { requires } from '../../support/prerequisites.js';

const A = '198.18.251.1';
const B = '198.18.251.2';

/** Runs a program; throws with its stderr when it fails. */
const run = (cmd: string, ...args: string[]): string => execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });

/** From `ns`, one UDP datagram to `to`:9 (nothing listens): 'refused' when an ICMP error came back, 'silent' when not. */
function probe(ns: string, to: string): string {
  const py = `import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.settimeout(0.5); s.connect(("${to}", 9)); s.send(b"x")
try:
    s.recv(16); print("answered")
except ConnectionRefusedError: print("refused")
except socket.timeout: print("silent")`;
  return run('ip', 'netns', 'exec', ns, 'python3', '-c', py).trim();
}

/** The base chains of `ns` as family/hook/device (nft's text: its JSON leaves the device out). */
function chains(ns: string): string[] {
  let family = '';
  const out: string[] = [];
  for (const line of run('ip', 'netns', 'exec', ns, 'nft', 'list', 'chains').split('\n')) {
    const t = /^table (\w+) /.exec(line);
    if (t !== null) family = t[1]!;
    const h = /type \w+ hook (\w+)(?: device "?([\w.-]+)"?)?/.exec(line);
    if (h !== null) out.push(`${family}/${h[1]}/${h[2] ?? ''}`);
  }
  return out;
}

const test = requires(import.meta.url);

test('ICMP on the link is dropped both ways by ingress chains on its two ends only, and comes back after removal', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'svrt-wic-'));
  try {
    await inNetns('wic', (a) => inNetns('wic', async (b) => {
      run('ip', '-n', a, 'link', 'add', 'wa', 'type', 'veth', 'peer', 'name', 'wb', 'netns', b);
      run('ip', '-n', a, 'addr', 'add', `${A}/30`, 'dev', 'wa');
      run('ip', '-n', b, 'addr', 'add', `${B}/30`, 'dev', 'wb');
      run('ip', '-n', a, 'link', 'set', 'wa', 'up');
      run('ip', '-n', b, 'link', 'set', 'wb', 'up');
      const ends = [[a, 'wa'], [b, 'wb']] as const;
      assert.equal([probe(a, B), probe(b, A)], ['refused', 'refused'], 'without the rule the port unreachable arrives');
      await dropLinkIcmp(true, dir, ends);
      assert.equal([chains(a), chains(b)], [['netdev/ingress/wa'], ['netdev/ingress/wb']]);
      assert.equal([probe(a, B), probe(b, A)], ['silent', 'silent'], 'with the rule no ICMP crosses the link');
      await dropLinkIcmp(false, dir, ends);
      assert.equal([chains(a), chains(b)], [[], []]);
      assert.equal([probe(a, B), probe(b, A)], ['refused', 'refused'], 'after removal the port unreachable arrives again');
    }));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
