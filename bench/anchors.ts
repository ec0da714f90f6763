/** The reference figures of /work/shared/docs/performance-anchors.md (2026-11-26, same kind of machine). */

export interface AnchorFigures {
  tcpGbps: number;
  udpLargeKpps: number;
  udp64Kpps: number;
  /** C ping, 64 B */
  rttP50Us: number;
  rttP99Us: number;
}

export const ANCHORS: Record<'kernel' | 'openvpn' | 'wireguard-go', AnchorFigures> = {
  kernel: { tcpGbps: 12.46, udpLargeKpps: 75.9, udp64Kpps: 101, rttP50Us: 36.4, rttP99Us: 68 },
  openvpn: { tcpGbps: 0.366, udpLargeKpps: 24.1, udp64Kpps: 27.7, rttP50Us: 105.3, rttP99Us: 182 },
  'wireguard-go': { tcpGbps: 0.293, udpLargeKpps: 24.5, udp64Kpps: 31.1, rttP50Us: 282.9, rttP99Us: 465 },
};

export const ANCHOR_NOTE = 'anchors: docs/performance-anchors.md, 2026-11-26; RTT there is a C ping, as ours when the run could compile bench/c/udp-load.c (the RTT row says which)';
