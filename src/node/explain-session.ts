/**
 * `svr explain --session ID`: why a recorded session went where it went. The history record says what
 * happened then (tenant, service, the paths it used and each move with its reason, how it ended); the
 * running router explains the same first packet now (control/explain.ts), and the differences are named.
 */
import type { Explanation, ExplainQuery } from '../control/explain.js';
import type { Router } from '../control/router.js';
import type { RecordsService } from '../telemetry/records-thread.js';
import type { PathChange, SessionRecord } from '../telemetry/record.js';

export interface SessionExplanation {
  record: SessionRecord;
  /** what the router would do with the session's first packet now; absent for a session this router did not open */
  now?: Explanation;
  /** the story then, and how now differs, one line each */
  story: string[];
}

const PROTOCOL_NAMES: Readonly<Record<number, string>> = { 1: 'icmp', 6: 'tcp', 17: 'udp', 58: 'icmpv6' };

/** The first packet of the recorded session, as an explain question (only where this router opened it). */
export function recordQuery(r: SessionRecord): ExplainQuery | undefined {
  if (r.role === 'egress') return undefined;
  const f = r.forward;
  return {
    src: f.src, dst: f.dst, protocol: PROTOCOL_NAMES[f.protocol] ?? String(f.protocol), port: f.dstPort, srcPort: f.srcPort,
    ...(r.ingressInterface !== undefined && r.ingressInterface.name !== '' ? { interface: r.ingressInterface.name } : {}),
  };
}

const at = (ms: number): string => new Date(ms).toISOString();
const move = (c: PathChange): string => `${at(c.atMs)} moved ${c.from} -> ${c.to} (${c.reason})`;

export function explainSession(r: SessionRecord, now: Explanation | undefined): SessionExplanation {
  const f = r.forward;
  const story: string[] = [];
  story.push(`session ${r.sessionId} on ${r.router} (${r.role}): ${PROTOCOL_NAMES[f.protocol] ?? f.protocol} ${f.src}:${f.srcPort} -> ${f.dst}:${f.dstPort}, ${at(r.startMs)} - ${at(r.endMs)}`);
  if (r.closeReason === 'denied') {
    story.push(`then: denied (${r.deniedReason ?? 'unknown reason'})${r.tenant !== '' ? `, tenant ${r.tenant}` : ''}${r.service !== '' ? `, service ${r.service}` : ''}`);
  } else {
    const first = r.pathChanges.length > 0 ? r.pathChanges[0]!.from : r.paths[0];
    story.push(`then: tenant ${r.tenant}, service ${r.service}${first !== undefined ? `, path ${first}` : ', delivered locally'}${r.role === 'egress' ? ` (from ${r.ingressRouter}, which chose the path)` : ''}`);
    for (const c of r.pathChanges) story.push(`then: ${move(c)}`);
    story.push(r.kind === 'end' ? `then: ended ${r.closeReason ?? ''} after ${r.packets[0]}/${r.packets[1]} packets, ${r.bytes[0]}/${r.bytes[1]} bytes (forward/reverse)` : `then: still open at ${at(r.endMs)} (latest interim record)`);
  }
  if (now === undefined) {
    story.push(`now: not explained here: ${r.role === 'egress' ? `${r.ingressRouter} opened it and chose its path; ask it` : 'no explain question could be made of the record'}`);
    return { record: r, story };
  }
  const lastPath = r.paths[r.paths.length - 1];
  const nowText = now.verdict === 'forward' ? `forward over ${now.path}` : now.verdict === 'deliver' ? `deliver locally (${now.route})` : `${now.verdict} (${now.counter})`;
  story.push(`now: ${nowText}${now.tenant !== undefined ? `, tenant ${now.tenant}` : ''}${now.service !== undefined ? `, service ${now.service}` : ''}`);
  const differs: string[] = [];
  if (r.closeReason === 'denied' && now.verdict !== 'drop' && now.verdict !== 'reset') differs.push('it was denied then and would be allowed now');
  if (r.closeReason !== 'denied' && (now.verdict === 'drop' || now.verdict === 'reset')) differs.push(`it would be refused now: ${now.steps[now.steps.length - 1]!.why}`);
  if (now.tenant !== undefined && r.tenant !== '' && now.tenant !== r.tenant) differs.push(`tenant ${r.tenant} then, ${now.tenant} now`);
  if (now.service !== undefined && r.service !== '' && now.service !== r.service) differs.push(`service ${r.service} then, ${now.service} now`);
  if (now.path !== undefined && lastPath !== undefined && now.path !== lastPath) differs.push(`path ${lastPath} last then, ${now.path} now: ${now.candidates.find((c) => c.chosen)?.why ?? ''}`);
  story.push(differs.length === 0 ? 'now: the same decision' : `differences: ${differs.join('; ')}`);
  return { record: r, now, story };
}

/** A recorded session then and now (`svr explain --session`, the API); undefined without its record. */
export async function explainRecorded(records: Pick<RecordsService, 'get'>, router: Router, sessionId: string): Promise<SessionExplanation | undefined> {
  const r = await records.get(sessionId);
  if (r === undefined) return undefined;
  const q = recordQuery(r);
  return explainSession(r, q === undefined ? undefined : router.explain(q));
}
