/** What machine and tools the figures come from. */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { cpus, release, totalmem } from 'node:os';
import type { MachineInfo } from './results.js';

function firstLine(cmd: string, args: string[]): string {
  try {
    return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).split('\n')[0]!.trim();
  } catch (e) {
    const out = String((e as { stdout?: string }).stdout ?? '').split('\n')[0]!.trim();
    return out || 'not installed';
  }
}

/** `currentWireguardGo`: the current wireguard-go's path, when the run has one. */
export function machineInfo(currentWireguardGo?: string): MachineInfo {
  let model = cpus()[0]?.model ?? 'unknown';
  try {
    const flags = /^flags\s*:(.*)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1] ?? '';
    const extras = ['aes', 'vaes', 'avx2', 'avx512f'].filter((f) => flags.split(' ').includes(f));
    if (extras.length > 0) model += ` (${extras.join(', ')})`;
  } catch {
    // no /proc/cpuinfo
  }
  return {
    cpuModel: model,
    cores: cpus().length,
    kernel: release(),
    node: process.version,
    memGiB: Math.round(totalmem() / 2 ** 30),
    tools: {
      iperf3: firstLine('iperf3', ['--version']).replace(/^iperf /, ''),
      openvpn: firstLine('openvpn', ['--version']).split(' ')[1] ?? 'not installed',
      'wireguard-go': currentWireguardGo === undefined ? 'not found' : firstLine(currentWireguardGo, ['--version']).replace(/^wireguard-go /, ''),
      "Debian's wireguard-go": firstLine('wireguard-go', ['--version']).replace(/^wireguard-go /, ''),
      openssl: firstLine('openssl', ['version']).split(' ')[1] ?? '?',
    },
  };
}

/** HEAD and the number of uncommitted files under src/ and native/ (what the nodes ran). */
export function gitState(root: string): { commit: string; dirtyFiles: number } {
  try {
    const commit = execFileSync('git', ['-C', root, 'rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).trim();
    const dirty = execFileSync('git', ['-C', root, 'status', '--porcelain', '--', 'src', 'native'], { encoding: 'utf8' }).split('\n').filter((l) => l.trim() !== '').length;
    return { commit, dirtyFiles: dirty };
  } catch {
    return { commit: 'unknown', dirtyFiles: 0 };
  }
}
