/**
 * A remote router's paths to a router pair with per-node WAN interfaces (paths/supervisor.ts, docs/high-
 * availability.md "Per-node WAN interfaces"): r2's supervisor on virtual time, the far ends (r1a's and r1b's
 * BFD) played by the test. r1a active, r1b standby (Diag 31); r1a dies (sends nothing) and r1b takes over (its
 * Diag 31 ends): r2's path to r1a is unusable at once (superseded), not after its detection time, so the
 * sessions on it move to r1b's path with their next packet (a download to a silent client included; before,
 * they stayed on the dead node's path for the detection time). A superseded node's late Up packets do not make
 * it usable again; its Diag 31, or its partner going standby (a dual-active meeting it lost), ends that.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Subject } from 'rxjs';
import { compileRouter } from '../../../src/model/compile.js';
import { decodeBfdControl, encodeBfdControl, type BfdControlPacket, type BfdState } from '../../../src/packet/bfd.js';
import { PathSupervisor, type PathStateChange } from '../../../src/paths/supervisor.js';
import type { ControlFastPath } from '../../../src/dataplane/control-fast-path.js';
import { baseAuthority, parseObject } from '../model/helpers.js';
import { prng } from '../../support/prng.js';
import { VirtualTime } from './virtual-time.js';

type Obj = Record<string, any>; // test fixtures are edited freely

/** r1 a pair with a wan interface of each node's own; slow BFD (1 s, detection 3 s) as in the lab */
function tables() {
  const a = baseAuthority() as Obj;
  a['routers'][0]['redundancy'] = {
    nodes: [{ name: 'r1a', priority: 200, 'sync-address': '198.18.250.1' }, { name: 'r1b', 'sync-address': '198.18.250.2' }],
    'shared-key': Buffer.alloc(32, 7).toString('base64'),
  };
  const bfd = { 'desired-tx-interval': 1000, 'required-min-rx-interval': 1000, multiplier: 3, 'hold-down-time': 1 };
  a['routers'][0]['interfaces'] = [
    { name: 'lan0', kind: 'lan' },
    { name: 'wan0', kind: 'wan', waypoint: '192.0.2.1', neighborhoods: [{ name: 'internet', bfd }], node: 'r1a' },
    { name: 'wan1', kind: 'wan', waypoint: '192.0.2.3', neighborhoods: [{ name: 'internet', bfd }], node: 'r1b' },
  ];
  a['routers'][1]['interfaces'][1]['neighborhoods'] = [{ name: 'internet', bfd }];
  return compileRouter(parseObject(a), 'r2', 1);
}

const TO_R1A = 'wan0->r1/wan0';
const TO_R1B = 'wan0->r1/wan1';

function rig() {
  const t = tables();
  assert.equal(t.paths.map((p) => [p.name, p.remoteNode]), [[TO_R1A, 'r1a'], [TO_R1B, 'r1b']]);
  const vt = new VirtualTime();
  const messages$ = new Subject<{ path: number; payload: Uint8Array; atMs: number }>();
  /** r2's last packet per path */
  const fromR2: (BfdControlPacket | undefined)[] = [];
  /** the data path's steady packets, as an in-thread router's: what it takes never reaches the supervisor */
  let fast: ControlFastPath | null = null;
  const sup = new PathSupervisor({
    tables: () => t,
    send: (path, payload) => {
      const d = decodeBfdControl(payload);
      if (d.ok) fromR2[path] = d.packet;
      return true;
    },
    messages$,
    keepSteady: (f) => {
      fast = f;
      return true;
    },
    now: vt.now, setTimeout: vt.setTimeout, clearTimeout: vt.clearTimeout,
  }, { random: prng(3), slowStartMs: 100 });
  const events: (PathStateChange & { at: number })[] = [];
  sup.state$.subscribe((e) => events.push({ ...e, at: vt.now() }));
  /** the far end of `path` sends one packet: Init while r2 is Down, else Up (with Diag 31 when standby) */
  const farEnd = (path: number, standby: boolean): void => {
    const r2 = fromR2[path];
    const state: BfdState = r2 === undefined || r2.state === 'down' ? 'init' : 'up';
    const packet: BfdControlPacket = {
      diag: state === 'up' && standby ? 31 : 0, state, poll: false, final: r2?.poll === true, controlPlaneIndependent: false, demand: false,
      detectMult: 3, myDiscriminator: 100 + path, yourDiscriminator: r2?.myDiscriminator ?? 0,
      desiredMinTxUs: 1_000_000, requiredMinRxUs: 1_000_000, requiredMinEchoRxUs: 0,
    };
    const payload = encodeBfdControl(packet);
    if (fast?.take(t.generation, path, payload, 0, payload.length) !== true) messages$.next({ path, payload, atMs: vt.now() });
  };
  const usable = (name: string): boolean => sup.summary().find((s) => s.name === name)!.usable;
  sup.start();
  /** both far ends speak `times`, 200 ms apart */
  const speak = async (times: number, r1a: boolean | 'dead', r1b: boolean | 'dead'): Promise<void> => {
    for (let i = 0; i < times; i++) {
      if (r1a !== 'dead') farEnd(0, r1a);
      if (r1b !== 'dead') farEnd(1, r1b);
      await vt.advance(200);
    }
  };
  return { sup, vt, farEnd, events, usable, speak, steadyTaken: () => fast?.bfdRx.reduce((a, b) => a + b, 0) ?? 0 };
}

test('r1b takes over from a dead r1a: r2\'s path to r1a is unusable at once, not after its detection time', async () => {
  const { sup, vt, farEnd, events, usable, speak } = rig();
  try {
    // both far ends speak every 200 ms for 3 s: r1a active, r1b standby
    await speak(15, false, true);
    assert.equal([usable(TO_R1A), usable(TO_R1B)], [true, false], 'r1a carries sessions, r1b is standby');
    // r1a dies; 400 ms later r1b takes over (no Diag 31 from now on)
    await speak(2, 'dead', true);
    const at = vt.now();
    farEnd(1, false);
    await vt.advance(1);
    assert.equal([usable(TO_R1A), usable(TO_R1B)], [false, true], 'r1b usable, r1a superseded at once');
    const gone = events.find((e) => e.pathName === TO_R1A && !e.usable && e.at >= at)!;
    assert.equal([gone.bfdState, gone.reason, gone.at - at], ['up', 'peer-standby', 0], 'r1a\'s path: BFD still up (its detection time runs), unusable now');
    assert.ok(sup.summary().find((s) => s.name === TO_R1A)!.peerStandby, 'shown as standby');
    // r1a's BFD expires later: down, no change of usability
    await speak(20, 'dead', false);
    assert.is(sup.summary().find((s) => s.name === TO_R1A)!.bfdState, 'down');
    assert.equal([usable(TO_R1A), usable(TO_R1B)], [false, true]);
  } finally {
    sup.stop();
  }
});

test('a superseded node\'s late Up packets do not make its path usable; its partner going standby ends that', async () => {
  const { sup, vt, farEnd, usable, speak } = rig();
  try {
    await speak(15, false, true);
    farEnd(1, false); // r1b takes over while r1a still runs (a stalled r1a, or a switchover's drain)
    await vt.advance(1);
    await speak(3, false, false);
    assert.equal([usable(TO_R1A), usable(TO_R1B)], [false, true], 'r1a\'s Up packets without Diag 31 change nothing');
    // the dual-active meeting: r1b loses and is standby again; r1a's next Up packet makes its path usable
    farEnd(1, true);
    await vt.advance(1);
    assert.equal([usable(TO_R1A), usable(TO_R1B)], [false, false]);
    farEnd(0, false);
    await vt.advance(1);
    assert.equal([usable(TO_R1A), usable(TO_R1B)], [true, false], 'r1a active again at r2');
    // r1a standby (Diag 31), then r1b takes over: a switchover both ways
    farEnd(0, true);
    farEnd(1, false);
    await vt.advance(1);
    assert.equal([usable(TO_R1A), usable(TO_R1B)], [false, true]);
  } finally {
    sup.stop();
  }
});

test('switchovers there and back, then r1a dies: r2 follows every time (the steady packets the data path takes included)', async () => {
  const { sup, speak, usable, steadyTaken } = rig();
  try {
    await speak(15, false, true);
    assert.equal([usable(TO_R1A), usable(TO_R1B)], [true, false]);
    assert.ok(steadyTaken() > 0, 'the data path takes steady packets');
    for (const [r1a, r1b, want] of [[false, false, [false, true]], [true, false, [false, true]], [false, false, [true, false]], [false, true, [true, false]]] as const) {
      // r1b takes over (make before break: both active for a moment), r1a standby; then back
      await speak(3, r1a, r1b);
      assert.equal([usable(TO_R1A), usable(TO_R1B)], [...want], `r1a ${r1a ? 'standby' : 'active'}, r1b ${r1b ? 'standby' : 'active'}`);
    }
    await speak(2, 'dead', true);
    await speak(1, 'dead', false);
    assert.equal([usable(TO_R1A), usable(TO_R1B)], [false, true], 'r1b took over from the dead r1a');
  } finally {
    sup.stop();
  }
});

test.run();
