/**
 * The system programs svrouter's lab, tests and benchmark run, the Debian/Ubuntu package of each, and
 * installing the missing ones with apt-get (as root). One table for `svr setup`, `svr lab up|demo`, the
 * test prerequisites (test/support/prerequisites.ts) and the benchmark (bench/install.ts).
 *
 * $SVR_HIDE_TOOLS (names separated by commas or spaces) makes the named programs count as missing when
 * deciding what to install or skip (until this process installed them), so the paths taken on a host
 * without them can be run on one with them.
 */
import { spawnSync } from 'node:child_process';
import { SvrError } from '../errors.js';
import { isRoot, which } from './run.js';

export interface HostTool {
  /** Debian/Ubuntu package that installs the program. */
  pkg: string;
  /** What uses it (shown by `svr setup`). */
  usedBy: string;
}

export const HOST_TOOLS = {
  ip: { pkg: 'iproute2', usedBy: 'namespaces, veth pairs, addresses, routes (lab, tests, benchmark)' },
  iperf3: { pkg: 'iperf3', usedBy: 'TCP/UDP throughput (lab, tests, benchmark)' },
  curl: { pkg: 'curl', usedBy: 'downloads through the lab (lab demo, end-to-end tests)' },
  tcpdump: { pkg: 'tcpdump', usedBy: 'captures on the wire (end-to-end tests, benchmark)' },
  openssl: { pkg: 'openssl', usedBy: 'TLS certificates (plugins end-to-end test, benchmark OpenVPN)' },
  sysctl: { pkg: 'procps', usedBy: 'forwarding settings in test namespaces (TUN offload and external-function tests, benchmark)' },
  setpriv: { pkg: 'util-linux', usedBy: 'TUN permission test' },
  unshare: { pkg: 'util-linux', usedBy: 'TUN missing-device test' },
  cc: { pkg: 'gcc', usedBy: 'native addon, the benchmark\'s C UDP endpoints' },
  'c++': { pkg: 'g++', usedBy: 'native addon (node-gyp links with it)' },
  make: { pkg: 'make', usedBy: 'native addon (node-gyp)' },
  python3: { pkg: 'python3', usedBy: 'native addon (node-gyp)' },
  openvpn: { pkg: 'openvpn', usedBy: 'benchmark peer' },
  'wireguard-go': { pkg: 'wireguard-go', usedBy: 'benchmark peer' },
  etcd: { pkg: 'etcd-server', usedBy: 'conductor high availability: the shared store (conductor tests)' },
  ethtool: { pkg: 'ethtool', usedBy: 'benchmark (reads each mode\'s offloads), UDP GSO test (a veth without checksum offload)' },
  wg: { pkg: 'wireguard-tools', usedBy: 'benchmark peer (wireguard-go keys and peers)' },
  nfcapd: { pkg: 'nfdump', usedBy: 'IPFIX collector (telemetry tests, svr lab up --collector)' },
  nfdump: { pkg: 'nfdump', usedBy: 'reads what nfcapd collected (telemetry tests)' },
  tshark: { pkg: 'tshark', usedBy: 'decodes IPFIX templates and enterprise elements (telemetry tests)' },
  vtysh: { pkg: 'frr', usedBy: 'BGP through FRR: zebra, bgpd, bfdd in /usr/lib/frr (svr lab up --bgp, routing tests)' },
  nft: { pkg: 'nftables', usedBy: 'the NAT box of svr lab up --nat (masquerade; NAT traversal tests), the WAN receive off the ingress (SVR_WAN_PACKET_RX), the TUN UDP GSO test (an IPv4 table keeps raw sends off frames)' },
  conntrack: { pkg: 'conntrack', usedBy: 'svr lab nat-rebind flushes the NAT box\'s bindings (NAT traversal tests)' },
  prometheus: { pkg: 'prometheus', usedBy: 'scrapes the nodes\' /metrics (visibility end-to-end test)' },
  chromium: { pkg: 'chromium', usedBy: 'headless browser driving the web UI (web UI tests, npm run screenshots)' },
  faketime: { pkg: 'faketime', usedBy: 'the chaos suite: a node whose wall clock steps (libfaketime)' },
} as const satisfies Record<string, HostTool>;

export type HostToolName = keyof typeof HOST_TOOLS;

export const ALL_HOST_TOOLS = Object.keys(HOST_TOOLS) as HostToolName[];

/** What node-gyp needs to build the native addon (also checked, as a copy, by native/install.js). */
export const NATIVE_BUILD_TOOLS: readonly HostToolName[] = ['cc', 'c++', 'make', 'python3'];

/** Tools installTools installed in this process (no longer hidden). */
const installedHere = new Set<string>();

/** The names in $SVR_HIDE_TOOLS, less those installed by this process. */
export function hiddenTools(env: NodeJS.ProcessEnv = process.env): Set<string> {
  return new Set((env['SVR_HIDE_TOOLS'] ?? '').split(/[\s,]+/).filter((t) => t !== '' && !installedHere.has(t)));
}

/** The tools of `tools` that are not installed (or are hidden by $SVR_HIDE_TOOLS in `env`). */
export function missingTools<T extends string>(tools: readonly T[], env: NodeJS.ProcessEnv = process.env): T[] {
  const hidden = hiddenTools(env);
  return tools.filter((t) => hidden.has(t) || which(t) === undefined);
}

/** The packages that install `tools`, each once, in the order of the tools. */
export function packagesFor(tools: readonly HostToolName[]): string[] {
  return [...new Set(tools.map((t) => HOST_TOOLS[t].pkg))];
}

/** `a`, `a and b`, `a, b and c`. */
export function listWords(words: readonly string[]): string {
  return words.length <= 1 ? (words[0] ?? '') : `${words.slice(0, -1).join(', ')} and ${words[words.length - 1]}`;
}

export type InstallPlan =
  /** nothing missing */
  | { action: 'none' }
  /** root with apt-get: install these packages now */
  | { action: 'apt'; packages: string[] }
  /** the user has to: `command` is the one thing to run */
  | { action: 'tell'; packages: string[]; command: string };

/** What to do about `missing` on a host that is (not) root and has (no) apt-get. */
export function planInstall(missing: readonly HostToolName[], host: { root: boolean; apt: boolean }): InstallPlan {
  if (missing.length === 0) return { action: 'none' };
  const packages = packagesFor(missing);
  if (host.root && host.apt) return { action: 'apt', packages };
  if (host.apt) return { action: 'tell', packages, command: `sudo apt-get install -y ${packages.join(' ')}` };
  return { action: 'tell', packages, command: `install ${packages.join(' ')} with your system's package manager (Debian/Ubuntu package names)` };
}

/**
 * Makes sure `tools` are installed: as root with apt-get, installs the missing ones (one progress line
 * says which); otherwise throws SVR_ERR_LAB_TOOL with the one command to run.
 */
export function installTools(tools: readonly HostToolName[], progress: (line: string) => void): void {
  const missing = missingTools(tools);
  const plan = planInstall(missing, { root: isRoot(), apt: which('apt-get') !== undefined });
  if (plan.action === 'none') return;
  const names = listWords(missing.map((t) => `\`${t}\``));
  if (plan.action === 'tell') {
    throw new SvrError('SVR_ERR_LAB_TOOL', `${names} ${missing.length === 1 ? 'is' : 'are'} not installed; run: ${plan.command}`,
      { missing, packages: plan.packages, command: plan.command });
  }
  progress(`installing with apt-get: ${plan.packages.join(' ')} (for ${missing.join(', ')})`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  spawnSync('apt-get', ['update', '-qq'], { stdio: 'ignore', env });
  // tshark's package asks whether non-root users may capture; answer it (no) so the install never waits
  if (plan.packages.includes('tshark')) spawnSync('debconf-set-selections', { input: 'wireshark-common wireshark-common/install-setuid boolean false\n', stdio: ['pipe', 'ignore', 'ignore'] });
  const r = spawnSync('apt-get', ['install', '-y', '-qq', ...plan.packages], { encoding: 'utf8', env });
  // checked for real: a hidden tool that apt-get (re)installed counts as there
  const still = missingTools(tools, {});
  if (r.status !== 0 || still.length > 0) {
    const why = (r.error?.message ?? r.stderr ?? '').trim().split('\n').slice(-1)[0] ?? '';
    throw new SvrError('SVR_ERR_LAB_TOOL',
      `\`apt-get install -y ${plan.packages.join(' ')}\` failed (exit ${r.status})${why === '' ? '' : `: ${why}`}; `
        + `${still.length > 0 ? `still missing: ${still.join(', ')}; ` : ''}fix the apt sources or install them by hand`,
      { missing: still, packages: plan.packages });
  }
  for (const t of missing) installedHere.add(t);
}
