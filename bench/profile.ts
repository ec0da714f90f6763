/**
 * Summarizes a V8 .cpuprofile (node --cpu-prof) into the top functions by self time and self time per
 * source file. Usable on its own:  node dist/bench/profile.js FILE.cpuprofile [--top 20] [--skip-ms N]
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
}

interface ProfileNode {
  id: number;
  callFrame: CallFrame;
}

interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

export interface ProfileEntry {
  name: string;
  where: string;
  selfMs: number;
  /** percent of the non-idle time */
  pct: number;
}

export interface ProfileSummary {
  file: string;
  wallMs: number;
  idleMs: number;
  busyMs: number;
  top: ProfileEntry[];
  byFile: ProfileEntry[];
}

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

function shortUrl(url: string): string {
  if (url === '') return '(native)';
  const path = url.startsWith('file://') ? fileURLToPath(url) : url;
  const snap = path.indexOf('/build-snapshot/'); // the benchmark's copy of the build (snapshot.ts)
  if (snap >= 0) return path.slice(snap + '/build-snapshot/'.length);
  return path.startsWith(ROOT) ? path.slice(ROOT.length) : path;
}

/** `skipMs`: leave out the first milliseconds of the profile (process start-up, before the workload). */
export function summarizeProfile(file: string, topN = 15, skipMs = 0): ProfileSummary {
  const p = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const selfUs = new Map<number, number>();
  let at = 0;
  for (let i = 0; i < p.samples.length; i++) {
    // timeDeltas[i] is the time before sample i; charge it to the sample (V8's own convention)
    at += p.timeDeltas[i] ?? 0;
    if (at < skipMs * 1000) continue;
    const id = p.samples[i]!;
    selfUs.set(id, (selfUs.get(id) ?? 0) + (p.timeDeltas[i] ?? 0));
  }
  const fnTotals = new Map<string, { name: string; where: string; us: number }>();
  const fileTotals = new Map<string, number>();
  let idle = 0;
  let total = 0;
  for (const [id, us] of selfUs) {
    const n = byId.get(id);
    if (n === undefined) continue;
    total += us;
    const cf = n.callFrame;
    if (cf.functionName === '(idle)') {
      idle += us;
      continue;
    }
    const url = shortUrl(cf.url);
    const where = cf.url === '' ? '' : `${url}:${cf.lineNumber + 1}`;
    const name = cf.functionName || '(anonymous)';
    const key = `${name}@${where}`;
    const e = fnTotals.get(key) ?? { name, where, us: 0 };
    e.us += us;
    fnTotals.set(key, e);
    const fileKey = cf.url === '' ? name.startsWith('(') ? name : '(native)' : url;
    fileTotals.set(fileKey, (fileTotals.get(fileKey) ?? 0) + us);
  }
  const busy = total - idle;
  const pct = (us: number) => (busy > 0 ? (100 * us) / busy : 0);
  const top = [...fnTotals.values()].sort((a, b) => b.us - a.us).slice(0, topN)
    .map((e) => ({ name: e.name, where: e.where, selfMs: e.us / 1000, pct: pct(e.us) }));
  const byFile = [...fileTotals.entries()].sort((a, b) => b[1] - a[1]).slice(0, topN)
    .map(([f, us]) => ({ name: f, where: '', selfMs: us / 1000, pct: pct(us) }));
  return { file, wallMs: (p.endTime - p.startTime) / 1000 - skipMs, idleMs: idle / 1000, busyMs: busy / 1000, top, byFile };
}

export function formatProfile(s: ProfileSummary): string {
  const lines = [`  ${s.file}: ${s.wallMs.toFixed(0)} ms profiled, ${s.busyMs.toFixed(0)} ms busy on the main thread (${s.idleMs.toFixed(0)} ms idle)`];
  lines.push('    self ms   % busy  function (file:line)');
  for (const e of s.top) lines.push(`    ${e.selfMs.toFixed(1).padStart(7)}  ${e.pct.toFixed(1).padStart(6)}  ${e.name}${e.where ? `  ${e.where}` : ''}`);
  lines.push('    by file:');
  for (const e of s.byFile.slice(0, 10)) lines.push(`    ${e.selfMs.toFixed(1).padStart(7)}  ${e.pct.toFixed(1).padStart(6)}  ${e.name}`);
  return lines.join('\n');
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  const file = process.argv[2];
  if (file === undefined) {
    process.stderr.write('usage: node dist/bench/profile.js FILE.cpuprofile [--top N]\n');
    process.exitCode = 2;
  } else {
    const opt = (name: string, def: number) => {
      const i = process.argv.indexOf(name);
      return i > 0 ? Number(process.argv[i + 1]) : def;
    };
    console.log(formatProfile(summarizeProfile(file, opt('--top', 20), opt('--skip-ms', 0))));
  }
}
