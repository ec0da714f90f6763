/**
 * A router pair of two real `svr node` processes (docs/high-availability.md "The router pair"): router r1's
 * nodes r1a and r1b, each in its own namespace with its own TUN devices, a sync veth between them. Checks:
 * the first node alone becomes active (its devices up), the second joins as standby (its devices down);
 * `svr show ha` on both; `svr node switchover` moves the role (and the devices' state) without a moment
 * where neither forwards for longer than the role change; SIGKILL of the active: the standby takes over
 * after about 3 missed heartbeats, its devices up; the failover timeline is printed. Split brain: a
 * second veth carries probe heartbeats; the sync veth cut while both run: exactly one node keeps its
 * devices up (r1a, by priority), the other is fenced, both raise ha-split-brain; the link back: the
 * fenced node becomes standby and the alarm clears.
 * Not here yet (docs/high-availability.md "Not done"): traffic through the pair, hence its sessions across a
 * failover (checked in memory: test/unit/ha/session-failover.test.ts).
 * Needs root, ip, network namespaces; otherwise its tests count as skipped.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as assert from 'uvu/assert';
import { backgroundLines, e2eDir, E2E_PREFIX, exec, inNs, pollUntil, show, sleep, svr, SVR, type LineProcess } from './support.js';
import { requires } from '../support/prerequisites.js';

const PREFIX = `${E2E_PREFIX}p`;
const NS = { r1a: `${PREFIX}-r1a`, r1b: `${PREFIX}-r1b` } as const;
type Node = keyof typeof NS;
const SYNC = { r1a: '198.18.250.1', r1b: '198.18.250.2' } as const;
const PROBE = { r1a: '198.18.250.5', r1b: '198.18.250.6' } as const;

const test = requires(import.meta.url);
const dir = e2eDir(test, `${PREFIX}-e2e-ha-pair`, () => downSync());
const env = { SVR_RUN_DIR: join(dir, 'run') };
const nodes: Partial<Record<Node, LineProcess>> = {};

function downSync(): void {
  for (const n of Object.values(nodes)) if (n?.child.pid !== undefined && n.child.exitCode === null) n.child.kill('SIGKILL');
  for (const ns of Object.values(NS)) spawnSync('ip', ['netns', 'delete', ns], { stdio: 'ignore' });
}

const CONFIG = (key: string): string => JSON.stringify({
  authority: {
    name: 'ha-pair',
    secret: '00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff',
    tenants: [{ name: 'lab', members: ['198.18.1.0/24'] }],
    services: [{ name: 'web', addresses: ['198.18.3.0/24'], transport: [{ protocol: 'tcp', ports: [80] }], 'access-policy': [{ source: 'lab' }] }],
    routers: [
      {
        name: 'r1',
        interfaces: [
          { name: 'lan0', kind: 'lan', 'kernel-routes': [{ prefix: '198.18.3.0/24' }] },
          { name: 'wan0', kind: 'wan', waypoint: '198.18.10.1', neighborhoods: [{ name: 'internet' }] },
        ],
        'service-routes': [{ name: 'web-out', service: 'web', peer: 'r2' }],
        redundancy: {
          nodes: [{ name: 'r1a', priority: 200, 'sync-address': SYNC.r1a, 'probe-address': PROBE.r1a }, { name: 'r1b', priority: 100, 'sync-address': SYNC.r1b, 'probe-address': PROBE.r1b }],
          'shared-key': key,
        },
      },
      {
        name: 'r2',
        interfaces: [{ name: 'lan0', kind: 'lan' }, { name: 'wan0', kind: 'wan', waypoint: '198.18.10.2', neighborhoods: [{ name: 'internet' }] }],
        'service-routes': [{ name: 'web-in', service: 'web', 'next-hop': { interface: 'lan0' } }],
      },
    ],
  },
}, null, 2);

async function must(cmd: string, args: string[]): Promise<void> {
  const r = await exec(cmd, args);
  assert.is(r.code, 0, `${cmd} ${args.join(' ')}: ${show(r)}`);
}

function start(node: Node, config: string): LineProcess {
  const p = backgroundLines('ip', ['netns', 'exec', NS[node], process.execPath, SVR, 'node', 'start', '--config', config, '--name', 'r1', '--ha-node', node,
    '--run-dir', env.SVR_RUN_DIR, '--data-dir', join(dir, `data-${node}`), '--log-format', 'json']);
  nodes[node] = p;
  return p;
}

interface RoleLine { time: string; event: string; role: string; reason: string; forwarding: boolean; appliedMs: number }
const roleLine = (l: string): RoleLine => JSON.parse(l) as RoleLine;
/** The node's newest `ha.role` line after the first `skip` of them. */
async function nextRole(p: LineProcess, skip: number, timeoutMs: number): Promise<RoleLine> {
  return pollUntil(`ha.role line ${skip + 1}`, timeoutMs, async () => {
    const roles = p.lines.filter((l) => l.includes('"event":"ha.role"'));
    if (roles.length > skip) return roleLine(roles[roles.length - 1]!);
    await sleep(10);
    return undefined;
  });
}
const roleCount = (p: LineProcess): number => p.lines.filter((l) => l.includes('"event":"ha.role"')).length;

async function devicesUp(node: Node): Promise<boolean[]> {
  const r = await inNs(NS[node], 'ip', ['-j', 'link', 'show']);
  const links = JSON.parse(r.stdout) as { ifname: string; flags: string[] }[];
  return ['svr-lan0', 'svr-wan0'].map((d) => links.find((l) => l.ifname === d)?.flags.includes('UP') ?? false);
}

async function haStatus(node: Node): Promise<{ role: string; forwarding: boolean; partnerRole?: string; counters: { dropped: Record<string, number> } }> {
  const r = await svr(['show', 'ha', '--node', node, '--json'], env);
  assert.is(r.code, 0, show(r));
  return JSON.parse(r.stdout);
}

test.after(() => {
  downSync();
  // e2eDir removes the directory when every test passed (kept with the logs otherwise)
});

/** Two namespaces, a sync veth (-sa/-sb) and a probe veth (-pa/-pb) between them; the config file. */
async function setUp(): Promise<string> {
  downSync();
  for (const ns of Object.values(NS)) await must('ip', ['netns', 'add', ns]);
  for (const [link, addrs] of [['s', SYNC], ['p', PROBE]] as const) {
    await must('ip', ['link', 'add', `${PREFIX}-${link}a`, 'netns', NS.r1a, 'type', 'veth', 'peer', 'name', `${PREFIX}-${link}b`, 'netns', NS.r1b]);
    for (const node of ['r1a', 'r1b'] as const) {
      const dev = `${PREFIX}-${link}${node === 'r1a' ? 'a' : 'b'}`;
      await must('ip', ['-n', NS[node], 'addr', 'add', `${addrs[node]}/30`, 'dev', dev]);
      await must('ip', ['-n', NS[node], 'link', 'set', dev, 'up']);
    }
  }
  for (const ns of Object.values(NS)) await must('ip', ['-n', ns, 'link', 'set', 'lo', 'up']);
  mkdirSync(env.SVR_RUN_DIR, { recursive: true });
  const config = join(dir, 'pair.json');
  writeFileSync(config, CONFIG(Buffer.alloc(32, 42).toString('base64')));
  return config;
}

async function stopNodes(): Promise<void> {
  for (const [k, n] of Object.entries(nodes)) {
    if (n === undefined) continue;
    if (n.child.exitCode === null && n.child.signalCode === null) n.child.kill('SIGTERM');
    await n.exited;
    delete nodes[k as Node];
  }
}

test('a pair of svr nodes: election, standby devices down, switchover, SIGKILL of the active -> failover in under a second', async () => {
  const config = await setUp();

  // r1a alone: active once no partner answered (3 x 100 ms)
  const a = start('r1a', config);
  const aActive = await pollUntil('r1a active', 30_000, async () => {
    if (a.child.exitCode !== null) throw new Error(`r1a exited: ${a.lines.join('\n')}`);
    const roles = a.lines.filter((l) => l.includes('"event":"ha.role"')).map(roleLine);
    await sleep(20);
    return roles.find((r) => r.role === 'active');
  });
  assert.is(aActive.reason, 'no-partner');
  await a.waitLine(/"event":"node.running"/, 30_000);
  assert.equal(await devicesUp('r1a'), [true, true], 'the active node\'s devices are up');

  // a reload cannot change the pair (its role machine, sync link and shared addresses are set up at start): refused
  writeFileSync(config, CONFIG(Buffer.alloc(32, 7).toString('base64')));
  const reload = await svr(['node', 'reload', '--node', 'r1a'], env);
  assert.is.not(reload.code, 0, `a reload that changes redundancy is refused: ${show(reload)}`);
  assert.match(show(reload), /authority\.routers\[0\]\.redundancy: changed .*: restart both nodes/);
  writeFileSync(config, CONFIG(Buffer.alloc(32, 42).toString('base64')));

  // r1b joins as standby: its devices go down
  const b = start('r1b', config);
  await b.waitLine(/"event":"node.running"/, 30_000);
  const bRole = await pollUntil('r1b standby', 10_000, async () => {
    const roles = b.lines.filter((l) => l.includes('"event":"ha.role"')).map(roleLine);
    await sleep(20);
    return roles.find((r) => r.role === 'standby');
  });
  assert.is(bRole.forwarding, false);
  assert.equal(await devicesUp('r1b'), [false, false], 'the standby forwards nothing: its devices are down');
  const sa = await haStatus('r1a');
  assert.equal([sa.role, sa.forwarding, sa.partnerRole], ['active', true, 'standby']);
  assert.equal(sa.counters.dropped, { malformed: 0, 'bad-auth': 0, 'not-partner': 0, 'out-of-order': 0 });

  // planned switchover: r1b active, r1a standby
  const [aSeen, bSeen] = [roleCount(a), roleCount(b)];
  const sw = await svr(['node', 'switchover', '--node', 'r1a'], env);
  assert.is(sw.code, 0, show(sw));
  const refused = await svr(['node', 'switchover', '--node', 'r1a'], env);
  const roleLines = (p: LineProcess): string => p.lines.filter((l) => l.includes('"event":"ha.')).map((l) => { const r = roleLine(l); return `${r.event} ${r.role ?? ''} ${r.reason ?? ''}`; }).join('; ');
  assert.is.not(refused.code, 0, `a standby (or handing-over) node refuses a switchover (r1a: ${roleLines(a)}; r1b: ${roleLines(b)})`);
  const bActive = await pollUntil('r1b active after the switchover', 10_000, async () => {
    const r = await nextRole(b, bSeen, 10_000);
    return r.role === 'active' ? r : undefined;
  });
  assert.is(bActive.reason, 'switchover');
  await pollUntil('r1a standby after the switchover', 10_000, async () => ((await nextRole(a, aSeen, 10_000)).role === 'standby' ? true : undefined));
  await pollUntil('devices follow the roles', 10_000, async () => {
    const [ua, ub] = [await devicesUp('r1a'), await devicesUp('r1b')];
    return ua.every((x) => !x) && ub.every((x) => x) ? true : undefined;
  });

  // SIGKILL of the active (r1b): r1a takes over after the dead time
  const aBefore = roleCount(a);
  const killedAt = Date.now();
  b.child.kill('SIGKILL');
  const taken = await pollUntil('r1a active after the kill', 10_000, async () => {
    const r = await nextRole(a, aBefore, 10_000);
    return r.role === 'active' ? r : undefined;
  });
  const activeAt = Date.parse(taken.time);
  console.log(`  failover: SIGKILL -> r1a active ${activeAt - killedAt} ms (devices up ${taken.appliedMs} ms after the decision), reason ${taken.reason}`);
  assert.is(taken.reason, 'partner-lost');
  // the dead time is 3 missed heartbeats of 100 ms; 256-292 ms measured under the full suite's load
  assert.ok(activeAt - killedAt < 1000, `failover took ${activeAt - killedAt} ms, the title says under a second`);
  assert.equal(await devicesUp('r1a'), [true, true]);
  const st = await haStatus('r1a');
  assert.equal([st.role, st.forwarding], ['active', true]);
});

test('split brain: the sync link cut while both run: exactly one node forwards, both alarm; the link back heals it', async () => {
  await stopNodes();
  const config = await setUp();
  const a = start('r1a', config);
  await a.waitLine(/"event":"node.running"/, 30_000);
  const b = start('r1b', config);
  await b.waitLine(/"event":"node.running"/, 30_000);
  await pollUntil('r1a active, r1b standby', 15_000, async () => {
    const [sa, sb] = [await haStatus('r1a'), await haStatus('r1b')];
    return sa.role === 'active' && sb.role === 'standby' && (sb as { probeAlive?: boolean }).probeAlive === true ? true : undefined;
  });

  await must('ip', ['-n', NS.r1b, 'link', 'set', `${PREFIX}-sb`, 'down']); // the sync link cut; the probe link stays
  await pollUntil('r1b fenced', 10_000, async () => ((await haStatus('r1b')).role === 'fenced' ? true : undefined));
  await sleep(1000); // long enough for a wrong decision to show
  const [sa, sb] = [await haStatus('r1a'), await haStatus('r1b')];
  assert.equal([sa.role, sa.forwarding, sb.role, sb.forwarding], ['active', true, 'fenced', false], 'exactly one node forwards');
  assert.equal([await devicesUp('r1a'), await devicesUp('r1b')], [[true, true], [false, false]]);
  for (const node of ['r1a', 'r1b'] as const) {
    const alarms = await svr(['show', 'alarms', '--node', node, '--json'], env);
    assert.ok(/ha-split-brain/.test(alarms.stdout), `${node}: ${alarms.stdout}`);
  }

  await must('ip', ['-n', NS.r1b, 'link', 'set', `${PREFIX}-sb`, 'up']);
  await pollUntil('r1b standby again', 10_000, async () => ((await haStatus('r1b')).role === 'standby' ? true : undefined));
  await pollUntil('the alarm cleared', 10_000, async () => {
    const alarms = await svr(['show', 'alarms', '--node', 'r1b', '--json'], env);
    return /ha-split-brain/.test(alarms.stdout) ? undefined : true;
  });
  assert.is((await haStatus('r1a')).role, 'active');
});

test.run();
