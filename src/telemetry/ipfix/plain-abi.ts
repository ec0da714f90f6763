/**
 * The addon's plain-session flow writer (native/ipfix-flows.c): its function, the layout of its `io` array and
 * of a session's shape (plain-flows.ts builds it), its results. The C file keeps the same numbers.
 */
import { tryLoadAddon } from '../../native/addon.js';

/** ipfixPlainFlows(message, slots, shapes, list, io): plain sessions' flows into the message (IpfixMessageWriter.plain) */
export type PlainFlowsFn = (message: Uint8Array, slots: Uint32Array, shapes: Uint8Array, list: Float64Array, io: Float64Array) => number;

// io: the message's end, its limit, the open set's start and template, the next session of the list and its next
// direction, the list's length; out: flows and sessions this call wrote
export const IO_AT = 0;
export const IO_MAX = 1;
export const IO_SET_START = 2;
export const IO_SET_ID = 3;
export const IO_NEXT = 4;
export const IO_DIR = 5;
export const IO_COUNT = 6;
export const IO_FLOWS = 7;
export const IO_ENDED = 8;
export const IO_LENGTH = 9;
/** a list entry: the session's slot, its shape's offset in the shapes, its end (ms) */
export const ENTRY = 3;

/** the flows are written; the next one does not fit (finish the message, call again); it fits no message */
export const PLAIN_DONE = 0;
export const PLAIN_FULL = 1;
export const PLAIN_OVERSIZE = 2;

// a shape: flags, flowEndReason, the interfaces' indexes (big-endian), the path's local and remote addresses (16 bytes
// and a length each), then at SH_OFFSETS five 16-bit offsets (little-endian) of its strings: the ingress interface's
// name, the egress one's, serviceName, the names after sessionId (tenantName to egressRouterName), their end
export const SH_FLAGS = 0;
export const SH_END_REASON = 1;
export const SH_IN_INDEX = 4;
export const SH_OUT_INDEX = 8;
export const SH_LOCAL = 12;
export const SH_LOCAL_LEN = 28;
export const SH_REMOTE = 29;
export const SH_REMOTE_LEN = 45;
export const SH_OFFSETS = 48;
export const SH_STRINGS = 58;
/** flags: the session has a waypoint (a path, not local); the path's local, remote address text is IPv6 */
export const SH_WAYPOINT = 1;
export const SH_LOCAL_V6 = 4;
export const SH_REMOTE_V6 = 8;

let loaded: PlainFlowsFn | null | undefined;

/** The addon's function, or undefined when it is not built (or built without it): records then take the TS encoder. */
export function nativePlainFlows(): PlainFlowsFn | undefined {
  if (loaded === undefined) {
    const a = tryLoadAddon();
    loaded = a instanceof Error || typeof a['ipfixPlainFlows'] !== 'function' ? null : (a['ipfixPlainFlows'] as PlainFlowsFn);
  }
  return loaded ?? undefined;
}
