/**
 * What a test file needs from the host (root, network namespaces, programs) and what happens when it is not
 * there: every test the file registers through `requires(import.meta.url)` is counted as skipped (uvu's
 * "Skipped: N"), with the reason printed once for the file. Under CI (SVR_CI=1, set by .ci/run, which runs
 * as root after `svr setup`) a missing prerequisite is a failing test that names it instead.
 *
 * TEST_NEEDS is the one list of such files, so that `npm test` says at the start which files will be
 * skipped and why (test/support/run-tests.ts). Programs hidden with SVR_HIDE_TOOLS count as missing, and so
 * does the native addon when SVR_HIDE_TOOLS names `addon`.
 */
import { spawnSync } from 'node:child_process';
import { dirname, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { test as uvuTest, type Callback, type Context, type Test } from 'uvu';
import { SvrError } from '../../src/errors.js';
import { HOST_TOOLS, hiddenTools, missingTools, packagesFor, type HostToolName } from '../../src/lab/host-tools.js';
import { isRoot } from '../../src/lab/run.js';
import { tryLoadAddon } from '../../src/native/addon.js';

/** root; netns: `ip netns list` works; addon: build/Release/svr_native.node loads; or a program of HOST_TOOLS. */
export type Prerequisite = 'root' | 'netns' | 'addon' | HostToolName;

/** the lab's nodes: namespaces, and TUN devices through the addon */
const LAB: readonly Prerequisite[] = ['root', 'ip', 'netns', 'addon', 'iperf3', 'curl'];
/** TUN devices in test namespaces */
const TUN: readonly Prerequisite[] = ['root', 'ip', 'netns', 'addon'];

/** Each file (path under test/, no extension) and what its gated tests need. */
export const TEST_NEEDS: Record<string, readonly Prerequisite[]> = {
  'e2e/lab.test': [...LAB, 'tcpdump'],
  'e2e/conductor.test': LAB,
  'e2e/fabric.test': [...LAB, 'tcpdump'],
  'e2e/conductor-ha.test': [...LAB, 'etcd'],
  'e2e/paths.test': LAB,
  'e2e/plugins.test': [...LAB, 'tcpdump', 'openssl'],
  'e2e/shaper.test': LAB,
  'e2e/workers.test': LAB,
  'e2e/wan-packet-rx.test': [...LAB, 'nft'],
  'e2e/bounded-state.test': [...LAB, 'cc'],
  'e2e/fail-closed.test': [...LAB, 'tcpdump'],
  'e2e/key-exchange.test': LAB,
  'e2e/secret-rotation.test': LAB,
  'e2e/worker-supervision.test': LAB,
  'e2e/plugin-sdk.test': LAB,
  'e2e/replay.test': [...LAB, 'tcpdump', 'python3'],
  'e2e/telemetry-ipfix.test': ['root', 'nfcapd', 'nfdump', 'tshark', 'tcpdump', 'ip', 'netns', 'ethtool', 'addon'],
  'e2e/visibility.test': [...LAB, 'nfcapd', 'nfdump', 'tshark', 'tcpdump'],
  'e2e/web-ui.test': [...LAB, 'chromium'],
  'e2e/chaos.test': [...LAB, 'cc'],
  'e2e/chaos-clock.test': [...LAB, 'faketime'],
  'e2e/web-ui-node.test': [...LAB, 'chromium'],
  'e2e/nat.test': [...LAB, 'nft', 'conntrack'],
  'e2e/fec.test': LAB,
  'e2e/mtu.test': [...LAB, 'nft'],
  'e2e/udp-transform.test': [...LAB, 'nft', 'tcpdump'],
  'e2e/ipv6.test': [...LAB, 'tcpdump'],
  'e2e/visibility-api.test': [...LAB, 'prometheus'],
  'e2e/routing.test': [...LAB, 'vtysh'],
  'e2e/ha-pair.test': TUN,
  'e2e/ha-lab.test': [...TUN, 'curl'],
  'e2e/ha-lab-per-node.test': [...TUN, 'curl'],
  'e2e/ha-lab-switchover.test': [...TUN, 'curl'],
  'e2e/ha-lab-links.test': [...TUN, 'curl'],
  'unit/io/announce.test': ['root', 'ip', 'netns'],
  'unit/io/link-state.test': ['root', 'ip', 'netns'],
  'unit/io/ip-batch.test': ['root', 'ip', 'netns'],
  'unit/io/tied-child.test': ['root', 'ip', 'netns'],
  'unit/io/tun.test': [...TUN, 'setpriv', 'unshare'],
  'unit/io/tun-offload.test': [...TUN, 'sysctl'],
  'unit/io/tun-uso.test': [...TUN, 'sysctl', 'tcpdump', 'ethtool', 'nft'],
  'unit/io/tun-pass-thread.test': TUN,
  'unit/node/wan-packet-rx.test': [...TUN, 'sysctl', 'nft'],
  'unit/node/tun-noqueue.test': ['root', 'ip', 'netns'],
  'unit/io/busy-poll.test': TUN,
  'unit/plugins/external-function-netns.test': [...TUN, 'sysctl'],
  'unit/bench/udp-load.test': ['cc'],
  'unit/bench/wan-icmp-drop.test': ['root', 'ip', 'netns', 'nft', 'python3'],
  'unit/bench/session-load.test': ['cc'],
  'unit/bench/iperf-failure.test': ['iperf3'],
  'unit/api/management.test': ['openssl'],
  'unit/conductor/store-etcd.test': ['etcd'],
  'unit/conductor/ha.test': ['etcd'],
  // the addon's own functions, or the native path against the JS one (without the addon both would be JS)
  'unit/io/offload.test': ['addon'],
  'unit/io/tun-gather.test': ['addon'],
  'unit/packet/native-checksum.test': ['addon'],
  'unit/crypto/native-binding.test': ['addon'],
  'unit/crypto/batch-cipher.test': ['addon'],
  'unit/crypto/batch-hmac.test': ['addon'],
  'unit/crypto/hmac-lanes.test': ['addon'],
  'unit/crypto/hmac-shani.test': ['addon'],
  'unit/crypto/cbc-vaes.test': ['addon'],
  'unit/crypto/hmac-many.test': ['addon'],
  'unit/telemetry/udp-send.test': ['addon'],
  'unit/telemetry/ipfix-plain.test': ['addon'],
  'unit/dataplane/native-marks.test': ['addon'],
  'unit/dataplane/flow-table-huge.test': ['addon'],
  'unit/telemetry/open-sessions-huge.test': ['addon'],
  'unit/ha/sync-socket.test': ['addon'],
  'unit/dataplane/native-forward-bytes.test': ['addon'],
  'unit/dataplane/steady-send.test': ['addon'],
  'unit/router/native-forward.test': ['addon'],
  'unit/router/native-receive.test': ['addon'],
  'unit/router/native-marks-tcp.test': ['addon'],
  'unit/router/steady-send.test': ['addon'],
  'unit/router/steady-receive.test': ['addon'],
  'unit/router/wan-pass.test': ['addon'],
  'unit/io/tun-pass-verdict.test': ['addon'],
  'support/e2e-dir-fixture': [], // run by unit/support/e2e-dir.test
};

export const TEST_ROOT = dirname(dirname(fileURLToPath(import.meta.url)));

/** `.../dist/test/e2e/lab.test.js` -> `e2e/lab.test` */
export function testKey(fileUrl: string): string {
  return relative(TEST_ROOT, fileURLToPath(fileUrl)).replace(/\.[jt]s$/, '');
}

export interface Missing {
  what: Prerequisite;
  why: string;
}

const netnsWorks = (): boolean => spawnSync('ip', ['netns', 'list'], { stdio: 'ignore' }).status === 0;

/** The prerequisites of `needs` that this host lacks, each with its reason (root and netns checked once). */
export function missingOf(needs: readonly Prerequisite[], env: NodeJS.ProcessEnv = process.env): Missing[] {
  const out: Missing[] = [];
  const tools = needs.filter((n): n is HostToolName => n in HOST_TOOLS);
  const gone = missingTools(tools, env);
  for (const n of needs) {
    if (n === 'root') {
      if (!isRoot()) out.push({ what: n, why: 'not root (network namespaces and TUN devices need it)' });
    } else if (n === 'addon') {
      const why = hiddenTools(env).has('addon') ? 'the native addon is hidden (SVR_HIDE_TOOLS names addon)' : addonError();
      if (why !== undefined) out.push({ what: n, why });
    } else if (n === 'netns') {
      if (isRoot() && gone.every((t) => t !== 'ip') && !netnsWorks()) out.push({ what: n, why: '`ip netns list` fails (no network namespace support?)' });
    } else if (gone.includes(n)) {
      out.push({ what: n, why: `\`${n}\` is not installed (package ${HOST_TOOLS[n].pkg})` });
    }
  }
  return out;
}

/** Why the addon does not load (SVR_ERR_NATIVE_MISSING's what, its fix left to fixFor), or undefined when it does. */
function addonError(): string | undefined {
  const a = tryLoadAddon();
  return a instanceof SvrError ? a.message.replace(/: (run|rebuild) .*$/s, '') : undefined;
}

/** The one command that makes `missing` available. */
export function fixFor(missing: readonly Missing[]): string {
  const tools = missing.map((m) => m.what).filter((n): n is HostToolName => n in HOST_TOOLS);
  const root = missing.some((m) => m.what === 'root');
  const addon = missing.some((m) => m.what === 'addon');
  if (tools.length === 0 && !addon) return root ? 'run the tests as root' : 'a kernel with network namespaces';
  const does = [...(tools.length > 0 ? [`installs ${packagesFor(tools).join(' ')}`] : []), ...(addon ? ['builds the native addon'] : [])].join('; ');
  return root ? `sudo npx svr setup (${does}), then run the tests as root` : `npx svr setup (${does})`;
}

/** What requires() gives a file: uvu's `test`, and `whenDone`. */
export interface FileTest extends Test {
  /** `fn` runs after the file's own after hooks, told whether every test it registered here passed; not at all when they are skipped. */
  whenDone(fn: (allPassed: boolean) => void): void;
}

/**
 * uvu's `test` (each test's pass counted for whenDone) when the file's prerequisites (TEST_NEEDS) are there;
 * otherwise a `test` whose tests are counted as skipped (hooks dropped), the reason printed once when the file
 * runs, or, with SVR_CI=1, one failing test naming what is missing.
 */
export function requires(fileUrl: string): FileTest {
  const key = testKey(fileUrl);
  const needs = TEST_NEEDS[key];
  if (needs === undefined) throw new Error(`test/support/prerequisites.ts: no TEST_NEEDS entry for ${key}`);
  const missing = missingOf(needs);
  if (missing.length === 0) return counted();
  const reasons = missing.map((m) => m.why).join('; ');
  if (process.env['SVR_CI'] === '1') {
    uvuTest(`${key}: its prerequisites are there (SVR_CI=1)`, () => {
      throw new Error(`${key} cannot run under CI: ${reasons}; fix: ${fixFor(missing)}`);
    });
  }
  let skipped = 0;
  uvuTest.before(() => console.log(`  SKIPPED ${skipped} test${skipped === 1 ? '' : 's'} of ${key}: ${reasons}; to run them: ${fixFor(missing)}`));
  const skip = (name?: string): void => {
    skipped++;
    uvuTest.skip(name);
  };
  const drop = Object.assign(() => undefined, { each: () => undefined });
  return Object.assign(skip, { only: skip, skip, before: drop, after: drop, whenDone: () => undefined, run: () => uvuTest.run() });
}

/** uvu's `test`, each test's pass counted: at the end (after the file's after hooks) whenDone's functions learn whether all passed. */
function counted(): FileTest {
  let registered = 0;
  let passed = 0;
  const done: ((allPassed: boolean) => void)[] = [];
  const test = (name: string, fn: Callback<Context>): void => {
    registered++;
    uvuTest(name, async (ctx) => {
      await fn(ctx);
      passed++;
    });
  };
  const run = (): void => {
    uvuTest.after(() => {
      for (const f of done) f(passed === registered);
    });
    uvuTest.run();
  };
  return Object.assign(test, { only: uvuTest.only, skip: uvuTest.skip, before: uvuTest.before, after: uvuTest.after, whenDone: (fn: (allPassed: boolean) => void) => done.push(fn), run });
}
