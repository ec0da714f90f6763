/**
 * Where a packet of a known session goes next, from the session's role and the packet's direction.
 * Stages that dispatch list DISPATCH_NEXTS first in their `nexts`, so the returned index is theirs too.
 *   ingress: forward (LAN) -> service-chain -> svr-out, reverse (WAN) -> svr-in -> service-chain -> tx
 *   egress:  forward (WAN) -> svr-in -> service-chain -> tx, reverse (LAN) -> service-chain -> svr-out
 *   local:   both directions -> forward-local -> service-chain -> tx
 */
import { ROLE_INGRESS, ROLE_LOCAL } from './session-table.js';

export const DISPATCH_NEXTS = ['svr-in', 'service-chain', 'forward-local'] as const;
export const TO_SVR_IN = 0;
export const TO_CHAIN_OUT = 1;
export const TO_FORWARD_LOCAL = 2;

export function dispatchIndex(role: number, forward: boolean): number {
  if (role === ROLE_LOCAL) return TO_FORWARD_LOCAL;
  return (role === ROLE_INGRESS) === forward ? TO_CHAIN_OUT : TO_SVR_IN;
}
