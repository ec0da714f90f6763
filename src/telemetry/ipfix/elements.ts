/**
 * The IPFIX Information Elements we export: IANA's (RFC 7012 and the IANA IPFIX registry) and enterprise
 * elements under Juniper's private enterprise number 45956 (the number SSR exports under). SSR's own
 * element numbers are used where SSR has one (ssr-reference §1.11: 1 record type, 7 start, 8 end, 9 total
 * bytes, 10 total packets, 11 TCP retransmissions, 12 service name, 14 session id, 16 tenant, 17 router
 * name); what SSR has no element for gets a number from 101 up (documented in docs/visibility.md), above
 * SSR's range so the two never clash.
 */

export const PEN_SSR = 45956;

/** RFC 7012 §3.1 abstract data types, as far as we use them. */
export type IeType =
  | 'unsigned8' | 'unsigned16' | 'unsigned32' | 'unsigned64'
  | 'ipv4Address' | 'ipv6Address' | 'dateTimeMilliseconds' | 'string' | 'octetArray';

export interface InformationElement {
  name: string;
  id: number;
  /** private enterprise number; 0 = IANA */
  pen: number;
  type: IeType;
}

/** RFC 7011 §7: a field length of 65535 announces a variable-length field. */
export const VARIABLE_LENGTH = 0xffff;

const iana = (name: string, id: number, type: IeType): InformationElement => ({ name, id, pen: 0, type });
const ssr = (name: string, id: number, type: IeType): InformationElement => ({ name, id, pen: PEN_SSR, type });

export const IE = {
  octetDeltaCount: iana('octetDeltaCount', 1, 'unsigned64'),
  packetDeltaCount: iana('packetDeltaCount', 2, 'unsigned64'),
  protocolIdentifier: iana('protocolIdentifier', 4, 'unsigned8'),
  sourceTransportPort: iana('sourceTransportPort', 7, 'unsigned16'),
  sourceIPv4Address: iana('sourceIPv4Address', 8, 'ipv4Address'),
  ingressInterface: iana('ingressInterface', 10, 'unsigned32'),
  destinationTransportPort: iana('destinationTransportPort', 11, 'unsigned16'),
  destinationIPv4Address: iana('destinationIPv4Address', 12, 'ipv4Address'),
  egressInterface: iana('egressInterface', 14, 'unsigned32'),
  sourceIPv6Address: iana('sourceIPv6Address', 27, 'ipv6Address'),
  destinationIPv6Address: iana('destinationIPv6Address', 28, 'ipv6Address'),
  interfaceName: iana('interfaceName', 82, 'string'),
  /** unsigned32 in the registry, sent in RFC 7270 §4.12's reduced-size encoding of one octet (status, reason) */
  forwardingStatus: iana('forwardingStatus', 89, 'unsigned8'),
  flowEndReason: iana('flowEndReason', 136, 'unsigned8'),
  flowStartMilliseconds: iana('flowStartMilliseconds', 152, 'dateTimeMilliseconds'),
  flowEndMilliseconds: iana('flowEndMilliseconds', 153, 'dateTimeMilliseconds'),
  postNATSourceIPv4Address: iana('postNATSourceIPv4Address', 225, 'ipv4Address'),
  postNATDestinationIPv4Address: iana('postNATDestinationIPv4Address', 226, 'ipv4Address'),
  postNAPTSourceTransportPort: iana('postNAPTSourceTransportPort', 227, 'unsigned16'),
  postNAPTDestinationTransportPort: iana('postNAPTDestinationTransportPort', 228, 'unsigned16'),
  biflowDirection: iana('biflowDirection', 239, 'unsigned8'),
  postNATSourceIPv6Address: iana('postNATSourceIPv6Address', 281, 'ipv6Address'),
  postNATDestinationIPv6Address: iana('postNATDestinationIPv6Address', 282, 'ipv6Address'),

  // SSR's enterprise elements (PEN 45956), SSR's numbers
  recordType: ssr('recordType', 1, 'unsigned8'),
  sessionStartMilliseconds: ssr('sessionStartMilliseconds', 7, 'dateTimeMilliseconds'),
  sessionEndMilliseconds: ssr('sessionEndMilliseconds', 8, 'dateTimeMilliseconds'),
  totalOctetCount: ssr('totalOctetCount', 9, 'unsigned64'),
  totalPacketCount: ssr('totalPacketCount', 10, 'unsigned64'),
  tcpRetransmissionCount: ssr('tcpRetransmissionCount', 11, 'unsigned64'),
  serviceName: ssr('serviceName', 12, 'string'),
  sessionId: ssr('sessionId', 14, 'string'),
  tenantName: ssr('tenantName', 16, 'string'),
  routerName: ssr('routerName', 17, 'string'),
  // ours (PEN 45956, numbers SSR does not use)
  applicationName: ssr('applicationName', 101, 'string'),
  peerPathName: ssr('peerPathName', 102, 'string'),
  pathChangeCount: ssr('pathChangeCount', 103, 'unsigned16'),
  closeReason: ssr('closeReason', 104, 'string'),
  deniedReason: ssr('deniedReason', 105, 'string'),
  ingressRouterName: ssr('ingressRouterName', 106, 'string'),
  egressRouterName: ssr('egressRouterName', 107, 'string'),
  /** RFC 7011 §3.3.1's padding element (always zeros): the padding template's one field (templates.ts PADDING_TEMPLATE) */
  paddingOctets: iana('paddingOctets', 210, 'octetArray'),
} as const;

/** Bytes a field of this type takes in a data record; VARIABLE_LENGTH for strings. */
export function fieldLength(type: IeType): number {
  switch (type) {
    case 'unsigned8': return 1;
    case 'unsigned16': return 2;
    case 'unsigned32': case 'ipv4Address': return 4;
    case 'unsigned64': case 'dateTimeMilliseconds': return 8;
    case 'ipv6Address': return 16;
    case 'string': return VARIABLE_LENGTH;
    case 'octetArray': return 1; // paddingOctets: one zero octet a record
  }
}

/** recordType (PEN 45956 element 1) values. */
export const RECORD_TYPE = { end: 1, interim: 2 } as const;

/** flowEndReason (IANA 136) values (RFC 7012 §5.11.3 / RFC 5102). */
export const FLOW_END_REASON = { idleTimeout: 1, activeTimeout: 2, endOfFlow: 3, forcedEnd: 4, lackOfResources: 5 } as const;

/**
 * forwardingStatus (IANA 89, RFC 7270 §4.12; the IANA "Forwarding Status" registry): the top two bits are
 * the status (01 forwarded, 10 dropped), the other six the reason.
 */
export const FORWARDING_STATUS = {
  forwarded: 64,
  droppedUnknown: 128,
  droppedAclDeny: 129,
  droppedAclDrop: 130,
  droppedUnroutable: 131,
} as const;

/** biflowDirection (IANA 239, RFC 5103 §6.3) values. */
export const BIFLOW_DIRECTION = { initiator: 1, reverseInitiator: 2 } as const;
