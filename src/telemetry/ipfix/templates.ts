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
import type { CloseReason, DenyReason, FiveTuple, InterfaceRef, SessionRecord } from '../record.js';
import { reversed } from '../record.js';
import { BIFLOW_DIRECTION, FLOW_END_REASON, FORWARDING_STATUS, IE, RECORD_TYPE, type InformationElement } from './elements.js';

/** One direction of a session record, as a template's fields read it. */
export interface FlowView {
  r: SessionRecord;
  /** 0 forward, 1 reverse */
  dir: 0 | 1;
  tuple: FiveTuple;
  post: FiveTuple | undefined;
  inIf: InterfaceRef | undefined;
  outIf: InterfaceRef | undefined;
}

export type FieldValue = number | string;

export interface TemplateField {
  ie: InformationElement;
  value: (f: FlowView) => FieldValue;
}

export interface Template {
  id: number;
  fields: readonly TemplateField[];
}

const END_REASON: Record<CloseReason, number> = {
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
};

/** A denied first packet's forwardingStatus: dropped, and why in the registry's terms (nfdump shows it as `fwd_status`). */
const DENIED_STATUS: Record<DenyReason, number> = {
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

const forwardingStatus = (r: SessionRecord): number =>
  r.closeReason === 'denied' ? DENIED_STATUS[r.deniedReason ?? 'no-route'] ?? FORWARDING_STATUS.droppedUnknown : FORWARDING_STATUS.forwarded;

function templateFields(v6: boolean, postV6: boolean): TemplateField[] {
  const zeroAddress = postV6 ? '::' : '0.0.0.0';
  return [
    { ie: v6 ? IE.sourceIPv6Address : IE.sourceIPv4Address, value: (f) => f.tuple.src },
    { ie: v6 ? IE.destinationIPv6Address : IE.destinationIPv4Address, value: (f) => f.tuple.dst },
    { ie: IE.sourceTransportPort, value: (f) => f.tuple.srcPort },
    { ie: IE.destinationTransportPort, value: (f) => f.tuple.dstPort },
    { ie: IE.protocolIdentifier, value: (f) => f.tuple.protocol },
    { ie: IE.octetDeltaCount, value: (f) => f.r.delta.bytes[f.dir] },
    { ie: IE.packetDeltaCount, value: (f) => f.r.delta.packets[f.dir] },
    { ie: IE.flowStartMilliseconds, value: (f) => f.r.startMs },
    { ie: IE.flowEndMilliseconds, value: (f) => f.r.endMs },
    { ie: IE.flowEndReason, value: (f) => f.r.kind === 'interim' ? FLOW_END_REASON.activeTimeout : END_REASON[f.r.closeReason ?? 'admin'] },
    { ie: IE.forwardingStatus, value: (f) => forwardingStatus(f.r) },
    { ie: IE.biflowDirection, value: (f) => f.dir === 0 ? BIFLOW_DIRECTION.initiator : BIFLOW_DIRECTION.reverseInitiator },
    { ie: postV6 ? IE.postNATSourceIPv6Address : IE.postNATSourceIPv4Address, value: (f) => f.post?.src ?? zeroAddress },
    { ie: postV6 ? IE.postNATDestinationIPv6Address : IE.postNATDestinationIPv4Address, value: (f) => f.post?.dst ?? zeroAddress },
    { ie: IE.postNAPTSourceTransportPort, value: (f) => f.post?.srcPort ?? 0 },
    { ie: IE.postNAPTDestinationTransportPort, value: (f) => f.post?.dstPort ?? 0 },
    { ie: IE.ingressInterface, value: (f) => f.inIf?.index ?? 0 },
    { ie: IE.egressInterface, value: (f) => f.outIf?.index ?? 0 },
    { ie: IE.interfaceName, value: (f) => f.inIf?.name ?? '' },
    { ie: IE.recordType, value: (f) => RECORD_TYPE[f.r.kind] },
    { ie: IE.sessionStartMilliseconds, value: (f) => f.r.startMs },
    { ie: IE.sessionEndMilliseconds, value: (f) => f.r.endMs },
    { ie: IE.totalOctetCount, value: (f) => f.r.bytes[f.dir] },
    { ie: IE.totalPacketCount, value: (f) => f.r.packets[f.dir] },
    { ie: IE.tcpRetransmissionCount, value: (f) => f.r.tcpRetransmissions?.[f.dir] ?? 0 },
    { ie: IE.serviceName, value: (f) => f.r.service },
    { ie: IE.sessionId, value: (f) => f.r.sessionId },
    { ie: IE.tenantName, value: (f) => f.r.tenant },
    { ie: IE.routerName, value: (f) => f.r.router },
    { ie: IE.applicationName, value: (f) => f.r.application },
    { ie: IE.peerPathName, value: (f) => f.r.paths[f.r.paths.length - 1] ?? '' },
    { ie: IE.pathChangeCount, value: (f) => Math.min(f.r.pathChanges.length, 0xffff) },
    { ie: IE.closeReason, value: (f) => f.r.closeReason ?? '' },
    { ie: IE.deniedReason, value: (f) => f.r.deniedReason ?? '' },
    { ie: IE.ingressRouterName, value: (f) => f.r.ingressRouter },
    { ie: IE.egressRouterName, value: (f) => f.r.egressRouter },
  ];
}

export const TEMPLATE_ID_BASE = 256;

/** The four templates: [v4/v4, v6/v4, v4/v6, v6/v6] by 5-tuple and post-NAT family. */
export const TEMPLATES: readonly Template[] = [0, 1, 2, 3].map((k) => ({
  id: TEMPLATE_ID_BASE + k,
  fields: templateFields((k & 1) !== 0, (k & 2) !== 0),
}));

const isV6 = (address: string): boolean => address.includes(':');

/** The template a flow uses. */
export function templateFor(f: FlowView): Template {
  const v6 = isV6(f.tuple.src);
  const postV6 = f.post !== undefined ? isV6(f.post.src) : v6;
  return TEMPLATES[(v6 ? 1 : 0) + (postV6 ? 2 : 0)]!;
}

/** The flows of a record: forward always, reverse when the reverse direction ever carried a packet. */
export function flowsOf(r: SessionRecord): FlowView[] {
  const translated = r.nat ?? r.waypoint;
  const forward: FlowView = { r, dir: 0, tuple: r.forward, post: translated, inIf: r.ingressInterface, outIf: r.egressInterface };
  if (r.packets[1] === 0) return [forward];
  const post = r.nat !== undefined ? reversed(r.forward) : r.waypoint !== undefined ? reversed(r.waypoint) : undefined;
  return [forward, { r, dir: 1, tuple: r.reverse, post, inIf: r.egressInterface, outIf: r.ingressInterface }];
}
