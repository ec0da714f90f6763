/**
 * A plain session's end (open-sessions.ts `plain`: nothing but its opening row, totals and end) goes to the IPFIX
 * collectors with no record object: the addon (native/ipfix-flows.c) writes its flows from its open-session slot
 * straight into each exporter's open message, the same bytes as message.ts encodes of its end record.
 *
 *   session-records.ts end -> PlainShapes.shape (its names' bytes: one shape per site's names, kept) ->
 *   IpfixExporter.offerPlain -> IpfixMessageWriter.plain -> ipfixPlainFlows (per direction: numbers, addresses,
 *   session id from the slot; interface names and the names from the shape)
 *
 * What a session's names (tenant, service, application, path, interfaces, role) and close reason give its flows is
 * encoded once (a shape) and kept while the same names come (SHAPES at most, the oldest replaced).
 */
import { ROLE_EGRESS, ROLE_INGRESS } from '../../dataplane/session-table.js';
import { parseAddress } from '../../packet/addr.js';
import type { PathNames, SlotNames } from '../open-sessions.js';
import type { CloseReason } from '../record.js';
import { MAX_STRING_BYTES, writeStringField } from './message.js';
import {
  SH_END_REASON, SH_FLAGS, SH_IN_INDEX, SH_LOCAL, SH_LOCAL_LEN, SH_LOCAL_V6, SH_OFFSETS, SH_OUT_INDEX, SH_REMOTE, SH_REMOTE_LEN,
  SH_REMOTE_V6, SH_STRINGS, SH_WAYPOINT,
} from './plain-abi.js';
import { END_REASON, isV6 } from './templates.js';

/** shapes kept (a router's sites: services × tenants × paths × close reasons met lately) */
const SHAPES = 16;
/** a shape's bytes at most: its 11 strings of MAX_STRING_BYTES (and the encoder's room past the last), pathChangeCount */
const SHAPE_BYTES = SH_STRINGS + 12 * (MAX_STRING_BYTES + 7) + 2;

interface Shape extends SlotNames {
  reason: CloseReason;
}

export class PlainShapes {
  /** the shapes' bytes, SHAPE_BYTES each (ipfixPlainFlows' `shapes`: a list entry names its shape's offset) */
  readonly table = new Uint8Array(SHAPES * SHAPE_BYTES);
  private readonly shapes: Shape[] = [];
  private next = 0;
  private readonly scratch = new Uint8Array(SHAPE_BYTES);
  private readonly view = new DataView(this.scratch.buffer);

  constructor(private readonly router: string) {}

  /** The offset in `table` of the shape of a session of these names and close reason; -1 when it has none yet (add). */
  find(n: SlotNames, reason: CloseReason): number {
    const shapes = this.shapes;
    for (let i = 0; i < shapes.length; i++) {
      const s = shapes[i]!;
      if (s.reason === reason && s.path === n.path && s.role === n.role && s.tenant === n.tenant && s.service === n.service &&
        s.application === n.application && s.ingressInterface === n.ingressInterface && s.egressInterface === n.egressInterface) return i * SHAPE_BYTES;
    }
    return -1;
  }

  /** The shape of these names and close reason made, in place of the oldest when SHAPES are kept (no list entry may name it then): its offset. */
  add(n: SlotNames, reason: CloseReason): number {
    const i = this.shapes.length < SHAPES ? this.shapes.length : this.next++ % SHAPES;
    this.shapes[i] = { ...n, reason };
    this.table.set(this.make(n, reason), i * SHAPE_BYTES);
    return i * SHAPE_BYTES;
  }

  /** The bytes of a shape (plain-abi.ts layout): what message.ts encodeFlow writes of these names in an end record. */
  private make(n: SlotNames, reason: CloseReason): Uint8Array {
    const b = this.scratch.fill(0);
    const v = this.view;
    const path: PathNames | undefined = n.path;
    const onPath = path !== undefined && (n.role === ROLE_INGRESS || n.role === ROLE_EGRESS);
    let flags = 0;
    if (onPath) {
      flags |= SH_WAYPOINT | (isV6(path.local) ? SH_LOCAL_V6 : 0) | (isV6(path.remote) ? SH_REMOTE_V6 : 0);
      const local = parseAddress(path.local)?.bytes;
      const remote = parseAddress(path.remote)?.bytes;
      if (local !== undefined) b.set(local, SH_LOCAL);
      b[SH_LOCAL_LEN] = local?.length ?? 0;
      if (remote !== undefined) b.set(remote, SH_REMOTE);
      b[SH_REMOTE_LEN] = remote?.length ?? 0;
    }
    b[SH_FLAGS] = flags;
    b[SH_END_REASON] = END_REASON[reason];
    v.setUint32(SH_IN_INDEX, Math.max(0, n.ingressInterface.index) >>> 0);
    v.setUint32(SH_OUT_INDEX, Math.max(0, n.egressInterface.index) >>> 0);
    const peer = path?.peer ?? '';
    const room = MAX_STRING_BYTES;
    const offsets: number[] = [SH_STRINGS];
    let at = writeStringField(b, v, SH_STRINGS, n.ingressInterface.name, room);
    offsets.push(at);
    at = writeStringField(b, v, at, n.egressInterface.name, room);
    offsets.push(at);
    at = writeStringField(b, v, at, n.service, room);
    offsets.push(at);
    // after sessionId: tenantName, routerName, applicationName, peerPathName, pathChangeCount (0), closeReason, deniedReason
    // (''), ingressRouterName, egressRouterName
    at = writeStringField(b, v, at, n.tenant, room);
    at = writeStringField(b, v, at, this.router, room);
    at = writeStringField(b, v, at, n.application, room);
    at = writeStringField(b, v, at, onPath ? path.name : '', room);
    v.setUint16(at, 0);
    at = writeStringField(b, v, at + 2, reason, room);
    at = writeStringField(b, v, at, '', room);
    at = writeStringField(b, v, at, n.role === ROLE_EGRESS ? peer : this.router, room);
    at = writeStringField(b, v, at, n.role === ROLE_INGRESS ? peer : this.router, room);
    offsets.push(at);
    for (let k = 0; k < offsets.length; k++) v.setUint16(SH_OFFSETS + 2 * k, offsets[k]!, true);
    return b.subarray(0, at);
  }
}
