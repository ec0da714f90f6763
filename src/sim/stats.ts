/** Counters of a simulated host (what it received, dropped and answered). */
export interface HostStats {
  rxPackets: number;
  txPackets: number;
  /** Destination address is not this host's (or another IP family). */
  notForUs: number;
  /** IP or L4 headers that do not parse. */
  malformed: number;
  /** Bad IPv4 header or TCP/UDP/ICMP checksum. */
  badChecksum: number;
  /** IP fragments (hosts do not reassemble). */
  fragments: number;
  /** Protocols other than TCP, UDP and ICMP echo. */
  unsupported: number;
  udpDelivered: number;
  /** UDP to a port nobody bound (dropped silently). */
  udpNoListener: number;
  tcpSegmentsIn: number;
  tcpSegmentsOut: number;
  /** Retransmission events (timeouts and fast retransmits). */
  tcpRetransmits: number;
  /** Segments dropped because they arrived after a hole. */
  tcpOutOfOrder: number;
  /** Segments to a port with no listener or connection (answered with RST). */
  tcpNoListener: number;
  tcpRstSent: number;
  icmpEchoReplies: number;
}

export function newHostStats(): HostStats {
  return {
    rxPackets: 0, txPackets: 0, notForUs: 0, malformed: 0, badChecksum: 0, fragments: 0, unsupported: 0,
    udpDelivered: 0, udpNoListener: 0, tcpSegmentsIn: 0, tcpSegmentsOut: 0, tcpRetransmits: 0, tcpOutOfOrder: 0,
    tcpNoListener: 0, tcpRstSent: 0, icmpEchoReplies: 0,
  };
}
