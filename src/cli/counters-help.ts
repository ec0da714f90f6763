/** The counter table (dataplane/counter-names.ts) as `svr show stats --help` text and as the Markdown of docs/embedding.md. */
import { COUNTERS, COUNTER_NAMES, type CounterArea, type CounterName } from '../dataplane/counter-names.js';
import { renderTable } from '../util/text-table.js';

const AREAS: readonly CounterArea[] = ['packets', 'malformed', 'first packet', 'sessions', 'svr', 'plugins', 'control'];

/** Counter names by area, in table order. */
function byArea(): [CounterArea, CounterName[]][] {
  return AREAS.map((a) => [a, COUNTER_NAMES.filter((n) => COUNTERS[n].area === a)]);
}

/** `svr show stats --help`: every counter and what it counts. */
export function countersHelp(): string {
  const rows = byArea().flatMap(([area, names]) => names.map((n) => [n, area, COUNTERS[n].meaning]));
  return `\nCounters (plugins add plugin.<plugin>.<counter>; docs/embedding.md has the same table):\n${renderTable(['COUNTER', 'AREA', 'WHAT IT COUNTS'], rows).replace(/^/gm, '  ')}\n`;
}

/** The counter table of docs/embedding.md. */
export function countersMarkdown(): string {
  const rows = byArea().flatMap(([area, names]) => names.map((n) => `| \`${n}\` | ${area} | ${COUNTERS[n].meaning.replace(/\|/g, '\\|')} |`));
  return ['| counter | area | what it counts |', '|---|---|---|', ...rows].join('\n');
}
