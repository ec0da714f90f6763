/** `svr inspect sessions|counters|config`: a stopped node's LevelDB state (closed sessions, counter snapshots, configs); `svr inspect plugin`: a plugin's store. */
import { join } from 'node:path';
import type { Command } from 'commander';
import { isSvrError } from '../errors.js';
import { Store } from '../store/store.js';
import { registerInspectPlugin } from './inspect-plugin.js';
import type { SessionRecord } from '../node/recorder.js';
import { humanBytes, humanDuration, renderTable } from '../util/text-table.js';

interface InspectOptions {
  dataDir?: string;
  node?: string;
  limit: string;
  json?: boolean;
}

const KINDS = ['sessions', 'counters', 'config'] as const;

async function newest(store: Store, sub: string, limit: number): Promise<[string, unknown][]> {
  const out: [string, unknown][] = [];
  for await (const [k, v] of store.sublevel(sub).iterator({ reverse: true, limit })) out.push([k, v]);
  return out;
}

function render(kind: (typeof KINDS)[number], rows: [string, unknown][]): string {
  if (rows.length === 0) return `no ${kind} recorded`;
  if (kind === 'sessions') {
    return renderTable(['CLOSED', 'ID', 'TENANT', 'SERVICE', 'REASON', 'AGE', 'PKTS F/R', 'BYTES F/R'], rows.map(([, v]) => {
      const r = v as SessionRecord;
      return [r.closedAt, r.id.slice(0, 8), r.tenant, r.service, r.reason, humanDuration(r.ageMs), `${r.packets[0]}/${r.packets[1]}`, `${humanBytes(r.bytes[0])}/${humanBytes(r.bytes[1])}`];
    }));
  }
  if (kind === 'counters') {
    const [at, latest] = rows[0]!;
    const nonZero = Object.entries(latest as Record<string, number>).filter(([, n]) => n !== 0);
    return `snapshot ${at}\n` + renderTable(['COUNTER', 'VALUE'], nonZero);
  }
  return rows.map(([at, v]) => `# applied ${at}\n${JSON.stringify(v, null, 2)}`).join('\n');
}

export function registerInspect(program: Command): void {
  const inspect = program
    .command('inspect')
    .summary('read a stopped node\'s recorded state (LevelDB): closed sessions, counter snapshots, configs')
    .description('Read the state a node recorded in its LevelDB directory. LevelDB allows one opener: while the node runs, ask it with `svr show` instead.');
  for (const kind of KINDS) {
    inspect
      .command(kind)
      .description(`the newest recorded ${kind}`)
      .option('--data-dir <dir>', 'the node\'s state directory')
      .option('--node <name>', 'a node name: $SVR_DATA_DIR/<name> or /var/lib/svrouter/<name>')
      .option('--limit <n>', 'how many records, newest first', '50')
      .option('--json', 'print JSON')
      .action(async (o: InspectOptions) => {
        const dir = o.dataDir ?? (o.node ? join(process.env['SVR_DATA_DIR'] ?? '/var/lib/svrouter', o.node) : undefined);
        if (dir === undefined) {
          process.stderr.write(`svr inspect ${kind}: pass --data-dir DIR or --node NAME\n`);
          process.exitCode = 1;
          return;
        }
        try {
          const store = await Store.open(dir);
          try {
            const rows = await newest(store, kind, Number(o.limit) || 50);
            process.stdout.write((o.json ? JSON.stringify(rows.map(([k, v]) => ({ key: k, value: v })), null, 2) : render(kind, rows)) + '\n');
          } finally {
            await store.close();
          }
        } catch (e) {
          if (!isSvrError(e)) throw e;
          process.stderr.write(`svr inspect ${kind}: ${e.message}\n`);
          process.exitCode = 1;
        }
      });
  }
  registerInspectPlugin(inspect);
}
