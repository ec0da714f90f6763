/**
 * Paced new sessions for the sustained and full-table cases (bench/c/session-load.c, compiled into the run
 * directory): the client's arguments, its per-second lines and its summary. The cases add their own client
 * addresses (CASE_SOURCES) and server address (CASE_SERVER, inside the service's prefix) so the run's other
 * endpoints stay as they are.
 */
import { ipn, runIn } from './exec.js';
import type { SessionsResult } from './sessions-client.js';
import { UDP_SESSION_PORTS } from './svr-config.js';
import { DEV, NS, SERVER } from './topology.js';

/** 64 client addresses of the cases (198.18.1.128-191; the tenant is the client's /24). */
export const CASE_SOURCES: readonly string[] = Array.from({ length: 64 }, (_, i) => `198.18.1.${128 + i}`);
/** UDP sockets per source: 64 x 32 sockets x 1,024 echo ports = 2,097,152 distinct 5-tuples. */
export const UDP_PER_SOURCE = 32;
export const UDP_TUPLES = CASE_SOURCES.length * UDP_PER_SOURCE * (UDP_SESSION_PORTS.to - UDP_SESSION_PORTS.from + 1);
/** The C TCP server of the cases: a second address of the server, inside the service's addresses. */
export const CASE_SERVER = '198.18.3.3';

export interface SecondCount {
  second: number;
  sent: number;
  ok: number;
  failed: number;
}

export interface PacedResult extends SessionsResult {
  /** the rate asked for (0: as fast as the window allows) */
  rate: number;
  /** pacing slots skipped because the window was full (the client could not keep the rate) */
  behind: number;
  perSecond: SecondCount[];
}

/** Adds (or removes) the cases' client and server addresses. */
export async function caseAddresses(on: boolean): Promise<void> {
  const op = on ? 'add' : 'del';
  for (const a of CASE_SOURCES) await ipn(NS.client, ['addr', op, `${a}/32`, 'dev', DEV.clientLan]).catch((e: Error) => { if (on) throw e; });
  await ipn(NS.server, ['addr', op, `${CASE_SERVER}/32`, 'dev', DEV.serverLan]).catch((e: Error) => { if (on) throw e; });
}

function parse(stdout: string): PacedResult {
  const lines = stdout.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
  const summary = lines.find((l) => 'protocol' in l) as unknown as PacedResult | undefined;
  if (summary === undefined) throw new Error(`session-load printed no summary: ${stdout.slice(-200)}`);
  summary.perSecond = lines.filter((l) => 'second' in l) as unknown as SecondCount[];
  return summary;
}

export interface UdpLoad {
  seconds: number;
  /** sessions/s; 0 = as fast as the window allows */
  rate: number;
  window: number;
  /** stop after this many sessions (0: none) */
  count?: number;
  /** the first tuple index (a fill continues where the last one ended) */
  first?: number;
}

/** New UDP sessions from the client namespace to the run's C echo. */
export async function udpSessions(tool: string, o: UdpLoad): Promise<PacedResult> {
  const { stdout } = await runIn(NS.client, tool, ['udp', SERVER, String(UDP_SESSION_PORTS.from), String(UDP_SESSION_PORTS.to), CASE_SOURCES.join(','),
    String(UDP_PER_SOURCE), String(o.window), String(o.seconds), String(o.rate), String(o.count ?? 0), String(o.first ?? 0)], (o.seconds + 60) * 1000);
  return parse(stdout);
}

/** New TCP sessions (connect, one byte, RST) from the client namespace to the C server on CASE_SERVER. */
export async function tcpSessions(tool: string, port: number, seconds: number, rate: number, window: number): Promise<PacedResult> {
  const { stdout } = await runIn(NS.client, tool, ['tcp', CASE_SERVER, String(port), CASE_SOURCES.join(','), String(window), String(seconds), String(rate)], (seconds + 60) * 1000);
  return parse(stdout);
}
