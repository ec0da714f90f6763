/**
 * Installs what the benchmark compares against from Debian when it is missing (root only): iperf3 and
 * tcpdump for every mode, ethtool to read each mode's offloads, openvpn, wireguard-go (Debian's 2022
 * release) and wireguard-tools for the tunnels. A package that cannot be installed (no network, unknown
 * package) is reported; the modes that need it are then skipped with a note. The current wireguard-go is
 * not a Debian package (see modes/wireguard.ts for where it is looked for).
 */
import { spawnSync } from 'node:child_process';

const NEEDS: { command: string; pkg: string }[] = [
  { command: 'ip', pkg: 'iproute2' },
  { command: 'iperf3', pkg: 'iperf3' },
  { command: 'tcpdump', pkg: 'tcpdump' },
  { command: 'ethtool', pkg: 'ethtool' },
  { command: 'openvpn', pkg: 'openvpn' },
  { command: 'wireguard-go', pkg: 'wireguard-go' },
  { command: 'wg', pkg: 'wireguard-tools' },
];

const has = (cmd: string): boolean => spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0;

/** apt-get installs the missing packages; returns one line per problem ([] when all is there). */
export function installMissing(progress: (line: string) => void): string[] {
  const missing = NEEDS.filter((n) => !has(n.command)).map((n) => n.pkg);
  if (missing.length === 0) return [];
  progress(`installing from Debian: ${missing.join(' ')}`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  spawnSync('apt-get', ['update', '-qq'], { stdio: 'ignore', env });
  const r = spawnSync('apt-get', ['install', '-y', '-qq', ...missing], { encoding: 'utf8', env });
  const still = NEEDS.filter((n) => !has(n.command)).map((n) => `${n.command} (${n.pkg})`);
  if (r.status !== 0 || still.length > 0) return [`could not install ${still.join(', ') || missing.join(' ')}: ${(r.stderr ?? '').trim().split('\n').slice(-1)[0] ?? ''}`];
  return [];
}
