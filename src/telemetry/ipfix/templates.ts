/**
 * IPFIX templates for session records. A session record becomes one data record per direction (IPFIX
 * flows are one-way, RFC 7011 §2): the forward flow (client -> server, biflowDirection initiator) and,
 * when anything came back, the reverse flow (server -> client, reverseInitiator).
 *
 * Each flow's IANA 5-tuple is the one its sender used (the client's, or the server's reply); the post-NAT
 * fields (225-228, 281/282) carry the same direction's 5-tuple on this router's other side: the NAT
 * toward the server when this router translates, else the SVR waypoint 5-tuple toward the peer; zero when
 * the session has neither. Templates differ only by address family: 256 + (5-tuple IPv6 ? 1 : 0) +
 * (post-NAT IPv6 ? 2 : 0), so an IPv6 client over an IPv4 peer path has a template too.
 */
import type { CloseReason, DenyReason } from '../record.js';
import { FLOW_END_REASON, FORWARDING_STATUS, IE, type InformationElement } from './elements.js';

export interface Template {
  id: number;
  /** the Information Elements of its fields, in order (the data records' layout: message.ts writes them) */
  fields: readonly InformationElement[];
}

/** flowEndReason of an end record's close reason */
export const END_REASON: Record<CloseReason, number> = {
  'idle': FLOW_END_REASON.idleTimeout,
  'fin-rst': FLOW_END_REASON.endOfFlow,
  'denied': FLOW_END_REASON.forcedEnd,
  'path-lost': FLOW_END_REASON.forcedEnd,
  'admin': FLOW_END_REASON.forcedEnd,
  'handshake-failed': FLOW_END_REASON.forcedEnd,
  'replaced': FLOW_END_REASON.forcedEnd,
  'config': FLOW_END_REASON.forcedEnd,
  'no-route': FLOW_END_REASON.forcedEnd,
  'shutdown': FLOW_END_REASON.forcedEnd,
  'standby': FLOW_END_REASON.forcedEnd,
};

/** A denied first packet's forwardingStatus: dropped, and why in the registry's terms (nfdump shows it as `fwd_status`). */
export const DENIED_STATUS: Record<DenyReason, number> = {
  'no-tenant': FORWARDING_STATUS.droppedAclDeny,
  'no-service': FORWARDING_STATUS.droppedAclDeny,
  'access-denied': FORWARDING_STATUS.droppedAclDeny,
  'tcp-no-session': FORWARDING_STATUS.droppedAclDrop,
  'plugin-refused': FORWARDING_STATUS.droppedAclDrop,
  'no-route': FORWARDING_STATUS.droppedUnroutable,
  'no-path-meets-sla': FORWARDING_STATUS.droppedUnroutable,
  'waypoint-ports-exhausted': FORWARDING_STATUS.droppedUnknown,
  'nat-collision': FORWARDING_STATUS.droppedUnknown,
};

/** The fields of a template (5-tuple IPv6 or not, post-NAT IPv6 or not); message.ts writes a flow's values in this order. */
function templateFields(v6: boolean, postV6: boolean): InformationElement[] {
  return [
    v6 ? IE.sourceIPv6Address : IE.sourceIPv4Address, v6 ? IE.destinationIPv6Address : IE.destinationIPv4Address,
    IE.sourceTransportPort, IE.destinationTransportPort, IE.protocolIdentifier,
    IE.octetDeltaCount, IE.packetDeltaCount, IE.flowStartMilliseconds, IE.flowEndMilliseconds,
    IE.flowEndReason, IE.forwardingStatus, IE.biflowDirection,
    postV6 ? IE.postNATSourceIPv6Address : IE.postNATSourceIPv4Address, postV6 ? IE.postNATDestinationIPv6Address : IE.postNATDestinationIPv4Address,
    IE.postNAPTSourceTransportPort, IE.postNAPTDestinationTransportPort,
    IE.ingressInterface, IE.egressInterface, IE.interfaceName,
    IE.recordType, IE.sessionStartMilliseconds, IE.sessionEndMilliseconds, IE.totalOctetCount, IE.totalPacketCount, IE.tcpRetransmissionCount,
    IE.serviceName, IE.sessionId, IE.tenantName, IE.routerName, IE.applicationName, IE.peerPathName, IE.pathChangeCount,
    IE.closeReason, IE.deniedReason, IE.ingressRouterName, IE.egressRouterName,
  ];
}

export const TEMPLATE_ID_BASE = 256;

/** The four templates: [v4/v4, v6/v4, v4/v6, v6/v6] by 5-tuple and post-NAT family. */
export const TEMPLATES: readonly Template[] = [0, 1, 2, 3].map((k) => ({
  id: TEMPLATE_ID_BASE + k,
  fields: templateFields((k & 1) !== 0, (k & 2) !== 0),
}));

/**
 * The padding template: one field, paddingOctets of one octet. UDP GSO sends a run of messages as equal segments
 * (udp-send.ts), each padded to the segment's size by a set of these records (message.ts padMessage): nfdump 1.7 reads
 * zeros of 4 bytes or more at a data set's end as a record (an error logged a message, or a record of zeros), and skips
 * this template's records (it stores none, and counts none in its sequence check).
 */
export const PADDING_TEMPLATE: Template = { id: TEMPLATE_ID_BASE + 4, fields: [IE.paddingOctets] };

export const isV6 = (address: string): boolean => address.includes(':');
