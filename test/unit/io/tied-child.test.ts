/**
 * Children tied to their node (io/tied-child.ts): a node process (a child of this test, in a test namespace
 * svrt-tied-<pid>-<n>) runs the link watch's `ip monitor` and a tie whose end removes an address; SIGKILL of
 * that process: no process of its is left (before: the `ip monitor` child lived on until the next link
 * announcement, none here) and the address is gone from the device (a dead pair node's kernel no longer
 * answers ARP for it). `end()` does the same while the process lives (a veth here). Needs root and ip.
 */
import { spawn, spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as assert from 'uvu/assert';
import { spawnTied } from '../../../src/io/tied-child.js';
import { until } from '../../support/config.js';
import { inNetns } from '../../support/netns-helper.js';
import { requires } from '../../support/prerequisites.js';

const test = requires(import.meta.url);
const SRC = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'src', 'io');

function ip(...args: string[]): string {
  const r = spawnSync('ip', args, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`ip ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

/** Every process whose parent chain leads to `root` (from /proc), and their command lines. */
function descendants(root: number): { pid: number; cmd: string }[] {
  const parent = new Map<number, number>();
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
      parent.set(Number(d), Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]));
    } catch { /* gone meanwhile */ }
  }
  const out: { pid: number; cmd: string }[] = [];
  for (const pid of parent.keys()) {
    for (let p = parent.get(pid); p !== undefined && p > 1; p = parent.get(p)) {
      if (p !== root) continue;
      try {
        out.push({ pid, cmd: readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ').trim() });
      } catch { /* gone meanwhile */ }
      break;
    }
  }
  return out;
}

const alive = (pid: number): boolean => {
  try {
    return !readFileSync(`/proc/${pid}/stat`, 'utf8').includes(') Z ');
  } catch {
    return false;
  }
};

const hasAddress = (ns: string, dev: string, cidr: string): boolean => ip('-n', ns, '-o', 'addr', 'show', 'dev', dev).includes(` ${cidr} `);

test('SIGKILL of the node: its ip monitor ends and the tie removes the address', async () => {
  await inNetns('tied', async (ns) => {
    ip('-n', ns, 'link', 'add', 'tied0', 'type', 'veth', 'peer', 'name', 'tied0p');
    ip('-n', ns, 'link', 'set', 'tied0', 'up');
    ip('-n', ns, 'addr', 'add', '198.18.78.1/24', 'dev', 'tied0');
    const script = `Promise.all([import(${JSON.stringify(join(SRC, 'link-state.js'))}), import(${JSON.stringify(join(SRC, 'tied-child.js'))})]).then(([l, t]) => {
      new l.LinkWatch(['tied0'], () => {}, 60000).start();
      t.spawnTied([], { atExitIp: [['addr', 'del', '198.18.78.1/24', 'dev', 'tied0'], ['addr', 'del', '198.18.78.9/24', 'dev', 'tied0']] });
      console.log('READY');
      setInterval(() => {}, 1000);
    })`;
    const node = spawn('ip', ['netns', 'exec', ns, process.execPath, '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
    try {
      await new Promise<void>((resolve, reject) => {
        node.stdout.on('data', (d: Buffer) => { if (d.toString().includes('READY')) resolve(); });
        node.on('exit', () => reject(new Error('the node process ended early')));
      });
      // `ip netns exec` execs node in place: the pid is the node's
      let kids: { pid: number; cmd: string }[] = [];
      assert.ok(await until(() => (kids = descendants(node.pid!)).some((k) => k.cmd === 'ip -o monitor link'), 10_000), `the link watch's ip monitor runs (${JSON.stringify(kids)})`);
      assert.ok(hasAddress(ns, 'tied0', '198.18.78.1/24'));
      node.kill('SIGKILL');
      // bounded generously (load 10-30): the kernel closes the pipe at once, the shells need a moment of CPU
      assert.ok(await until(() => kids.every((k) => !alive(k.pid)), 10_000), `left after SIGKILL: ${JSON.stringify(kids.filter((k) => alive(k.pid)))}`);
      assert.ok(await until(() => !hasAddress(ns, 'tied0', '198.18.78.1/24'), 5_000), 'the address was removed (the second, not there, did not stop it)');
    } finally {
      node.kill('SIGKILL');
    }
  });
});

test('end(): the child stopped and the end\'s commands run while this process lives; bad arguments refused', async () => {
  const dev = `td${process.pid % 1_000_000}`;
  ip('link', 'add', dev, 'type', 'veth', 'peer', 'name', `tp${process.pid % 1_000_000}`);
  try {
    ip('addr', 'add', '198.18.79.1/24', 'dev', dev);
    const has = (): boolean => ip('-o', 'addr', 'show', 'dev', dev).includes(' 198.18.79.1/24 ');
    const t = spawnTied(['sleep', '600'], { atExitIp: [['addr', 'del', '198.18.79.1/24', 'dev', dev]] });
    let kids: { pid: number; cmd: string }[] = [];
    assert.ok(await until(() => (kids = descendants(t.shell.pid!)).some((k) => k.cmd === 'sleep 600'), 10_000), 'the child runs under its shell');
    assert.ok(has(), 'nothing removed while tied');
    t.end();
    t.end();
    assert.ok(await until(() => !alive(t.shell.pid!) && kids.every((k) => !alive(k.pid)), 10_000), 'the shell and its child ended');
    assert.not.ok(has(), 'removed');
    assert.throws(() => spawnTied([], { atExitIp: [['addr', 'del', '1.2.3.4/32 dev x']] }), /white space/);
  } finally {
    spawnSync('ip', ['link', 'del', dev]);
  }
});

test.run();
