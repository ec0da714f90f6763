/**
 * TUN offload end to end (needs root, ip and sysctl; otherwise counted as skipped): a real TCP transfer
 * crosses a Node forwarder that reads from one offload TUN and writes to another.
 *
 *   svrt-off-<pid>-c            svrt-off-<pid>-r                                        svrt-off-<pid>-s
 *   client 198.18.254.2 ─veth─ rc 198.18.254.1   ip rule iif rc -> table 100: default dev svrto-in
 *                               [fwd: svrto-in ──▶ svrto-out]  (kernel: out -> rs)  rs 198.18.255.1 ─veth─ server 198.18.255.2
 *
 * The client's TSO super-packets cross the veth whole and are forwarded into svrto-in as GSO packets; the
 * forwarder gets MSS-sized segments, checks every one, and writes them to svrto-out, which merges them into
 * super-packets again. Replies (ACKs) go back through the kernel only. The namespaces are created and deleted
 * by exact name; every address is in 198.18.0.0/15 and exists only there.
 */
import * as assert from 'uvu/assert';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { requires } from '../../support/prerequisites.js';

const HELPER = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'support', 'tun-offload-fwd.js');
const BYTES = 24 * 1024 * 1024;
const MTU = 1500;

function ip(...args: string[]): void {
  const r = spawnSync('ip', args, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`ip ${args.join(' ')} failed: ${r.stderr}`);
}

function sysctl(ns: string, ...settings: string[]): void {
  const r = spawnSync('ip', ['netns', 'exec', ns, 'sysctl', '-q', '-w', ...settings], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`sysctl ${settings.join(' ')} in ${ns} failed: ${r.stderr}`);
}

interface Helper {
  child: ChildProcess;
  /** resolves with the first line starting with `prefix` */
  line(prefix: string, ms: number): Promise<string>;
  stderr(): string;
}

function helper(ns: string, mode: string, args: object): Helper {
  const child = spawn('ip', ['netns', 'exec', ns, process.execPath, HELPER, mode, JSON.stringify(args)], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  const waiters: (() => void)[] = [];
  child.stdout!.setEncoding('utf8');
  child.stderr!.setEncoding('utf8');
  child.stdout!.on('data', (d: string) => {
    out += d;
    for (const w of waiters.splice(0)) w();
  });
  child.stderr!.on('data', (d: string) => (err += d));
  child.on('close', () => {
    for (const w of waiters.splice(0)) w();
  });
  return {
    child,
    stderr: () => err,
    line: (prefix, ms) =>
      new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`${mode}: no ${prefix} within ${ms} ms; stderr: ${err}`)), ms);
        const look = (): void => {
          const l = out.split('\n').find((x) => x.startsWith(prefix));
          if (l !== undefined) {
            clearTimeout(timer);
            resolve(l);
          } else if (child.exitCode !== null || child.signalCode !== null) {
            clearTimeout(timer);
            reject(new Error(`${mode} exited (${child.exitCode ?? child.signalCode}) without ${prefix}; stderr: ${err}`));
          } else {
            waiters.push(look);
          }
        };
        look();
      }),
  };
}

const json = (line: string): Record<string, unknown> => JSON.parse(line.slice(line.indexOf(' ') + 1)) as Record<string, unknown>;

interface Names {
  c: string;
  r: string;
  s: string;
}

/** Builds client - router - server in the namespaces `n` (the caller deletes them, also after a failure). */
function topology(n: Names): void {
  for (const ns of Object.values(n)) {
    ip('netns', 'add', ns);
    ip('-n', ns, 'link', 'set', 'lo', 'up');
  }
  ip('-n', n.c, 'link', 'add', 'c0', 'type', 'veth', 'peer', 'name', 'rc', 'netns', n.r);
  ip('-n', n.s, 'link', 'add', 's0', 'type', 'veth', 'peer', 'name', 'rs', 'netns', n.r);
  ip('-n', n.c, 'addr', 'add', '198.18.254.2/30', 'dev', 'c0');
  ip('-n', n.c, 'link', 'set', 'c0', 'up');
  ip('-n', n.c, 'route', 'add', 'default', 'via', '198.18.254.1');
  ip('-n', n.s, 'addr', 'add', '198.18.255.2/30', 'dev', 's0');
  ip('-n', n.s, 'link', 'set', 's0', 'up');
  ip('-n', n.s, 'route', 'add', 'default', 'via', '198.18.255.1');
  ip('-n', n.r, 'addr', 'add', '198.18.254.1/30', 'dev', 'rc');
  ip('-n', n.r, 'addr', 'add', '198.18.255.1/30', 'dev', 'rs');
  ip('-n', n.r, 'link', 'set', 'rc', 'up');
  ip('-n', n.r, 'link', 'set', 'rs', 'up');
  sysctl(n.r, 'net.ipv4.ip_forward=1', 'net.ipv4.conf.all.rp_filter=0', 'net.ipv4.conf.default.rp_filter=0', 'net.ipv4.conf.rc.rp_filter=0', 'net.ipv4.conf.rs.rp_filter=0');
  ip('-n', n.r, 'rule', 'add', 'iif', 'rc', 'lookup', '100', 'pref', '100');
}

const test = requires(import.meta.url);

assert.ok(existsSync(HELPER), `${HELPER} missing: build with tsc first`);

test('a 24 MB TCP transfer through an offload forwarder: intact, segmented on read, coalesced on write', async () => {
  const tag = `svrt-off-${process.pid}`;
  const ns: Names = { c: `${tag}-c`, r: `${tag}-r`, s: `${tag}-s` };
  const procs: Helper[] = [];
  try {
    topology(ns);
    const fwd = helper(ns.r, 'fwd', { inName: 'svrto-in', outName: 'svrto-out', mtu: MTU, table: 100, offload: true });
    procs.push(fwd);
    await fwd.line('READY', 10_000);
    const server = helper(ns.s, 'server', { addr: '198.18.255.2', port: 5201 });
    procs.push(server);
    await server.line('READY', 10_000);
    const client = helper(ns.c, 'client', { addr: '198.18.255.2', port: 5201, bytes: BYTES });
    procs.push(client);
    const got = json(await server.line('RESULT', 60_000));
    const sent = json(await client.line('RESULT', 10_000));
    fwd.child.kill('SIGTERM');
    const f = json(await fwd.line('RESULT', 10_000)) as {
      check: { packets: number; tcp: number; maxLen: number; overMtu: number; unparsable: number; badIpChecksum: number; badL4Checksum: number; maxBatch: number };
      in: { rxPackets: number; rxSuperPackets: number; rxSegments: number };
      out: { txPackets: number; txDrops: number; txSuperPackets: number; txCoalesced: number };
      inDevice: { rxTruncated: number; rxOffloadErrors: number };
      offloadFlags: number;
      lastError: string;
    };
    assert.is(got.bytes, BYTES, 'bytes received');
    assert.is(got.sha256, sent.sha256, 'sha256 of what the server got = what the client sent');
    assert.ok(f.in.rxSuperPackets > 0, `super-packets read: ${JSON.stringify(f.in)}`);
    assert.ok(f.in.rxSegments > f.in.rxSuperPackets, 'super-packets became several segments each');
    assert.is(f.check.overMtu, 0, `every packet JS saw is <= ${MTU} (max ${f.check.maxLen})`);
    assert.is(f.check.unparsable, 0);
    assert.is(f.check.badIpChecksum, 0);
    assert.is(f.check.badL4Checksum, 0);
    assert.is(f.inDevice.rxTruncated, 0);
    assert.is(f.inDevice.rxOffloadErrors, 0);
    assert.ok(f.check.tcp * 1448 >= BYTES, `the data went through the forwarder (${f.check.tcp} TCP packets)`);
    assert.ok(f.out.txSuperPackets > 0, `super-packets written: ${JSON.stringify(f.out)}`);
    assert.ok(f.out.txCoalesced >= 2 * f.out.txSuperPackets);
    assert.is(f.out.txDrops, 0, f.lastError);
    assert.is(f.out.txPackets, f.check.packets, 'every packet read was written');
    const kbPerRead = BYTES / 1024 / Math.max(1, f.in.rxSuperPackets);
    console.log(
      `  note: ${f.in.rxSuperPackets} super-packets -> ${f.in.rxSegments} segments (of ${f.in.rxPackets} packets), ` +
        `${f.out.txCoalesced} merged into ${f.out.txSuperPackets} writes, max batch ${f.check.maxBatch}, ` +
        `${(BYTES / 1024 / 1024 / (Number(sent.ms) / 1000)).toFixed(0)} MB/s, ~${kbPerRead.toFixed(0)} KiB per super-packet, flags 0x${f.offloadFlags.toString(16)}`,
    );
  } finally {
    for (const p of procs) if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill('SIGKILL');
    for (const name of [ns.c, ns.r, ns.s]) spawnSync('ip', ['netns', 'del', name], { stdio: 'ignore' });
  }
});

test.run();
