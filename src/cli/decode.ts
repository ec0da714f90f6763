/**
 * `svr decode <file>`: prints every packet of a pcap/pcapng capture as one JSON object per line (NDJSON),
 * with the SVR metadata decoded where a TCP/UDP payload starts with the cookie.
 */
import type { Command } from 'commander';
import { isSvrError } from '../errors.js';
import { readCapture } from '../io/pcap.js';
import { loadConfig } from '../model/validate.js';
import { PacketInfo } from '../packet/ip.js';
import { DecodeKeys } from './decode-keys.js';
import { decodeRecord } from './decode-packet.js';

export interface DecodeOptions {
  /** Print only packets that carry metadata (well-formed or not). */
  metadataOnly?: boolean;
  /** Indent the JSON (one object spans several lines). */
  pretty?: boolean;
  /** End with a `{"summary": {...}}` line. */
  summary?: boolean;
  /** Authority config: its path keys check trailers and decrypt metadata. */
  config?: string;
}

export interface DecodeSummary {
  /** Records in the file (frames, plus a truncated last record). */
  packets: number;
  /** Records holding an IP packet that parses. */
  ip: number;
  /** Packets whose TCP/UDP payload starts with the SVR cookie. */
  metadata: number;
  /** ... of which the metadata does not fit (reported as `malformed`). */
  malformed: number;
  /** ... of which are bare 12-byte false-positive headers. */
  falsePositive: number;
  /** ... of which the payload TLVs were encrypted (decrypted with --config or not). */
  encrypted: number;
  /** FEC parity packets (docs/wan.md "FEC"). */
  fec: number;
  /** Path control messages (UDP 1280) and firewall-detector probes (TCP 1283). */
  control: number;
  /** ... of which are firewall-detector probes. */
  firewallProbes: number;
  /** Records without an IP packet (ARP, other link types, unparsable, truncated). */
  other: number;
}

const HELP_AFTER = `
Output: one JSON object per packet per line (NDJSON; --pretty indents instead):
  frame          1-based frame number, as Wireshark numbers it
  time           capture time, ISO 8601 UTC (null if the record has none)
  length         IP packet length in bytes (IP header included, link header excluded)
  outer          the packet's own headers: src, dst, srcPort, dstPort, protocol (number),
                 protocolName, tcpFlags (TCP), checksumOk (TCP/UDP/ICMP checksum verifies;
                 often false on packets captured on the sending host with checksum offload)
  metadata       only when the TCP/UDP payload starts with the SVR cookie 4c48dbc6ddf6670c:
                 version, headerLength, payloadLength, falsePositive (bare 12-byte header),
                 tlvs [{type, name, section: header|payload, length, value}],
                 forward / reverse {src, dst, srcPort, dstPort, protocol} (original 5-tuples),
                 sessionId (UUID), tenant, service, sourceRouter, destinationRouter, securityId,
                 payloadEncrypted, disableForwardMetadata, tcpSyn, application, control, ...
                 encrypted: the payload TLVs are ciphertext (a security id header TLV and a
                 region that does not walk as TLVs); only the header TLVs are shown, unless
                 --config decrypted them (decrypted: true)
                 malformed: why the metadata does not fit (a router drops such packets), e.g.
                 lengths-exceed-packet, bad-context-length, tlv-overruns-region
  fec            an FEC parity packet: group, row, dataPackets, parityPackets, vectorLength
                 (docs/wan.md "FEC"); its payload is parity, not metadata
  control        the routers' own traffic between waypoints, never a session's: kind of a path
                 control message on UDP 1280 (bfd, link-test-request/-reply, step, handshake,
                 nat-address, mtu-probe/-ack, fw-probe-ack, unknown), or fw-probe with probe
                 (tcp-syn, mid-flow, tcp-syn-jumbo) and round for a firewall-detector probe on
                 TCP 1283 -> 1283 (docs/wan.md "UDP transform")
  path           with --config: "<router>: <path>" of the sender, for packets between two waypoints
  trailer        with --config: keyId, sender, counter (the replay block) and hmac: ok|bad|unchecked
  note           why a frame has no IP packet (ARP, unsupported link type, truncated capture)

Capture formats: pcap (either byte order, micro- or nanosecond) and pcapng (tshark and
Wireshark's default). Link types: Ethernet (with one or two 802.1Q/802.1ad VLAN tags),
raw IP (101, 12, 14), Linux cooked SLL (113) and SLL2 (276), BSD loopback (0, 108).

Examples:
  tcpdump -i veth-r1r2 -w wan.pcap              capture on the link between two routers
  svr decode wan.pcap --metadata-only           only the packets that carry SVR metadata
  svr decode wan.pcap --summary | tail -n 1     packet counts
  svr decode wan.pcap --config lab.yaml         check trailers, decrypt metadata with the config's keys
  svr decode wan.pcap | jq -c 'select(.metadata.tenant == "blue") | .metadata.forward'

Exit status: 0 on success; 1 when the file cannot be read or is not a capture.
See docs/decode.md for a field reference and an example.`;

/** Decodes a capture file, handing each output chunk to `write`. Throws SvrError for unreadable files. */
export async function decodeFile(file: string, opts: DecodeOptions, write: (text: string) => void): Promise<DecodeSummary> {
  const summary: DecodeSummary = { packets: 0, ip: 0, metadata: 0, malformed: 0, falsePositive: 0, encrypted: 0, fec: 0, control: 0, firewallProbes: 0, other: 0 };
  const pi = new PacketInfo();
  const keys = opts.config === undefined ? undefined : DecodeKeys.fromConfig(await loadConfig(opts.config));
  let buffered: string[] = [];
  const flush = (): void => {
    if (buffered.length > 0) write(buffered.join(''));
    buffered = [];
  };
  try {
    for (const rec of readCapture(file)) {
      const d = decodeRecord(rec, pi, keys);
      summary.packets++;
      if (d.outer !== undefined) summary.ip++;
      else summary.other++;
      if (d.fec !== undefined) summary.fec++;
      if (d.control !== undefined) {
        summary.control++;
        if (d.control.kind === 'fw-probe') summary.firewallProbes++;
      }
      if (d.metadata !== undefined) {
        summary.metadata++;
        if (d.metadata.malformed !== undefined) summary.malformed++;
        else if (d.metadata.falsePositive) summary.falsePositive++;
        if (d.metadata.encrypted === true) summary.encrypted++;
      }
      if (opts.metadataOnly === true && d.metadata === undefined) continue;
      buffered.push(`${JSON.stringify(d, null, opts.pretty === true ? 2 : undefined)}\n`);
      if (buffered.length >= 256) flush();
    }
  } finally {
    flush(); // what was decoded before an error is still printed
    keys?.close();
  }
  if (opts.summary === true) write(`${JSON.stringify({ summary }, null, opts.pretty === true ? 2 : undefined)}\n`);
  return summary;
}

export function registerDecode(program: Command): void {
  program
    .command('decode')
    .summary('print the packets of a pcap/pcapng capture as JSON, SVR metadata decoded')
    .description(
      'Print every packet of a capture as one JSON object per line: the outer IP/TCP/UDP headers and, where '
      + 'the TCP/UDP payload starts with the SVR cookie, the decoded metadata (tenant, service, session UUID, '
      + 'original 5-tuples, routers, every TLV) or the reason it is malformed.',
    )
    .argument('<file>', 'capture file (pcap or pcapng), e.g. written by tcpdump -w')
    .option('--metadata-only', 'print only packets that carry SVR metadata')
    .option('--pretty', 'indent the JSON (no longer one object per line)')
    .option('--summary', 'end with one {"summary": {...}} line of counts')
    .option('--config <file>', 'authority config: check trailers and decrypt metadata with its path keys')
    .addHelpText('after', HELP_AFTER)
    .action(async (file: string, opts: DecodeOptions) => {
      process.stdout.on('error', (e: NodeJS.ErrnoException) => {
        if (e.code === 'EPIPE') process.exit(0); // e.g. piped into head
        throw e;
      });
      try {
        await decodeFile(file, opts, (text) => process.stdout.write(text));
      } catch (e) {
        if (!isSvrError(e)) throw e;
        process.stderr.write(`svr decode: ${e.message}\n`);
        process.exitCode = 1;
      }
    });
}
