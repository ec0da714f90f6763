/** Session records for the telemetry tests: varied tenants, services, paths, addresses and ports by index. */
import type { CloseReason, SessionFact, SessionRecord } from '../../../src/telemetry/record.js';

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

/** The facts of a session numbered i: opened at t + i ms (tenant blue or red, service web), closed 1 s later. */
export function sessionFacts(i: number, t: number): SessionFact[] {
  const id = `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`;
  return [
    { kind: 'session.opened', atMs: t + i, sessionId: id, role: 'ingress', tenant: i % 2 === 0 ? 'blue' : 'red', service: 'web', ingressRouter: 'r1', egressRouter: 'r2',
      forward: { src: '198.18.1.10', dst: '198.18.3.20', srcPort: 40000 + i, dstPort: 80, protocol: 6 }, path: 'wan0->r2/wan0' },
    { kind: 'session.closed', atMs: t + 1000 + i, sessionId: id, reason: 'fin-rst', packets: [10, 8], bytes: [1000, 8000] },
  ];
}
