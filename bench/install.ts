/**
 * Installs what the benchmark compares against from Debian when it is missing (root only, through
 * src/lab/host-tools.ts): iperf3 and tcpdump for every mode, ethtool to read each mode's offloads, openvpn
 * and openssl, wireguard-go (Debian's 2022 release) and wireguard-tools for the tunnels, a C compiler for
 * the UDP endpoints, nfcapd (nfdump) for the visibility case's collectors. A package that cannot be
 * installed (no network, unknown package) is reported; the modes that need it are then skipped with a note. The current wireguard-go is not a Debian package (see
 * modes/wireguard.ts for where it is looked for).
 */
import { installTools, type HostToolName } from '../src/lab/host-tools.js';

const BENCH_TOOLS: readonly HostToolName[] = ['ip', 'iperf3', 'tcpdump', 'ethtool', 'sysctl', 'cc', 'openssl', 'openvpn', 'wireguard-go', 'wg', 'nfcapd'];

/** apt-get installs the missing packages; returns one line per problem ([] when all is there). */
export function installMissing(progress: (line: string) => void): string[] {
  try {
    installTools(BENCH_TOOLS, progress);
    return [];
  } catch (e) {
    return [e instanceof Error ? e.message : String(e)];
  }
}
