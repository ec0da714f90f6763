/** Session records for the telemetry tests: varied tenants, services, paths, addresses and ports by index. */
import type { CloseReason, SessionRecord } from '../../../src/telemetry/record.js';

export const T0 = 1_700_000_000_000;
const TENANTS = ['blue', 'red', 'green'];
const SERVICES = ['web', 'dns', 'ssh', 'bulk'];
const REASONS: CloseReason[] = ['idle', 'fin-rst', 'denied', 'path-lost'];

/** A record numbered i: ids are UUIDs, end times T0 + i * 1000 ms unless overridden. */
export function makeRecord(i: number, over: Partial<SessionRecord> = {}): SessionRecord {
  const id = `00000000-0000-4000-8000-${i.toString(16).padStart(12, '0')}`;
  const end = over.endMs ?? T0 + i * 1000;
  return {
    kind: 'end', sessionId: id, seq: 0, router: 'r1', role: 'ingress',
    tenant: TENANTS[i % 3]!, service: SERVICES[i % 4]!, application: i % 2 === 0 ? 'http' : 'quic',
    ingressRouter: 'r1', egressRouter: i % 5 === 0 ? 'r3' : 'r2',
    forward: { src: `198.18.${1 + (i % 2)}.${10 + (i % 7)}`, dst: '198.18.3.20', srcPort: 40000 + i, dstPort: [80, 53, 22, 9000][i % 4]!, protocol: 6 },
    reverse: { src: '198.18.3.20', dst: `198.18.${1 + (i % 2)}.${10 + (i % 7)}`, srcPort: [80, 53, 22, 9000][i % 4]!, dstPort: 40000 + i, protocol: 6 },
    paths: i % 6 === 0 ? ['r2/wan1', 'r2/wan2'] : ['r2/wan1'],
    pathChanges: i % 6 === 0 ? [{ atMs: end - 500, from: 'r2/wan1', to: 'r2/wan2', reason: 'path-down' }] : [],
    packets: [i, i], bytes: [100 * i, 50 * i], delta: { packets: [i, i], bytes: [100 * i, 50 * i] },
    startMs: end - 2000, endMs: end, closeReason: REASONS[i % 4]!, ...over,
  };
}
