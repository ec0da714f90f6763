/**
 * Where a packet of a known session goes next, from the session's role and the packet's direction.
 * Stages that dispatch list DISPATCH_NEXTS first in their `nexts`, so the returned index is theirs too.
 *   ingress: forward (LAN) -> svr-out, reverse (WAN) -> svr-in
 *   egress:  forward (WAN) -> svr-in,  reverse (LAN) -> svr-out
 *   local:   both directions -> forward-local
 */
import { ROLE_INGRESS, ROLE_LOCAL } from './session-table.js';

export const DISPATCH_NEXTS = ['svr-in', 'svr-out', 'forward-local'] as const;
export const TO_SVR_IN = 0;
export const TO_SVR_OUT = 1;
export const TO_FORWARD_LOCAL = 2;

export function dispatchIndex(role: number, forward: boolean): number {
  if (role === ROLE_LOCAL) return TO_FORWARD_LOCAL;
  return (role === ROLE_INGRESS) === forward ? TO_SVR_OUT : TO_SVR_IN;
}
