/** Session records for the telemetry tests: varied tenants, services, paths, addresses and ports by index; a data path writing a fact ring. */
import { Dataplane } from '../../../src/dataplane/dataplane.js';
import type { PacketPort } from '../../../src/dataplane/port.js';
import { compileRouter } from '../../../src/model/compile.js';
import type { ForwardingTables } from '../../../src/model/tables.js';
import { buildUdp } from '../../../src/packet/build.js';
import type { CloseReason, SessionFact, SessionRecord } from '../../../src/telemetry/record.js';
import { exampleConfig } from '../../support/config.js';

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

/**
 * A data path of r1 on its own ring of `rows` rows; `open(n)` opens n UDP sessions, `expire()` ends them all.
 * Its clock starts at `startMs` (records kept by a history with the real clock: now, or retention removes
 * them and interim records fall due at once).
 */
export async function dataPath(facts: SharedArrayBuffer, tables?: ForwardingTables, startMs = Date.parse('2025-01-01T00:00:00Z')) {
  let now = startMs;
  const t = tables ?? compileRouter(await exampleConfig(), 'r1', 1);
  const port = (name: string): PacketPort => ({ name, start: () => {}, transmit: () => {}, close: () => {} });
  const dp = new Dataplane({ tables: t, ports: t.interfaces.map((i) => port(i.name)), clock: () => now, shared: { facts } });
  const lan = t.interfaceIndex('lan0');
  let next = 0;
  return {
    dp, tables: t,
    open(n: number): void {
      for (let i = 0; i < n; i++) {
        const p = buildUdp({ src: Uint8Array.of(198, 18, 1, 10), dst: Uint8Array.of(198, 18, 3, 20), srcPort: 1024 + next++, dstPort: 7, payload: new Uint8Array(8) });
        dp.receive(lan, p, Uint32Array.of(0), Uint32Array.of(p.length), 1);
      }
    },
    expire(): void {
      now += 600_000;
      dp.sweepAll();
    },
  };
}
