/**
 * A path's authentication settings as bits in one byte per path (DataplaneContext.pathAuth): what the per-packet
 * code of signed packets (wan-verify, Dataplane.originate, sign.ts) asks of a path, without reading its
 * CompiledPath and CompiledHmac objects. With a hub's 2,000 paths those objects were a cache miss or two on every
 * control packet (docs/performance.md "wave 20, hub16").
 */
import type { CompiledPath } from '../model/tables.js';

/** packets on the path carry an HMAC trailer (hmac.mode is not `disabled`) */
export const PA_SIGNED = 1;
/** time-based HMAC: the tag covers the time slot too */
export const PA_TIME_BASED = 2;
/** every packet is signed (`regular` or `time-based`), not only metadata and control */
export const PA_ALL_SIGNED = 4;
export const PA_PEER_BEHIND_NAT = 8;
export const PA_OUTBOUND_ONLY = 16;
/** keys from the path key exchange (`key-exchange: handshake`) */
export const PA_HANDSHAKE = 32;

export function pathAuthBits(p: CompiledPath): number {
  const m = p.hmac.mode;
  return (m !== 'disabled' ? PA_SIGNED : 0) | (m === 'time-based' ? PA_TIME_BASED : 0) | (m === 'regular' || m === 'time-based' ? PA_ALL_SIGNED : 0)
    | (p.peerBehindNat ? PA_PEER_BEHIND_NAT : 0) | (p.outboundOnly ? PA_OUTBOUND_ONLY : 0) | (p.keyExchange === 'handshake' ? PA_HANDSHAKE : 0);
}
