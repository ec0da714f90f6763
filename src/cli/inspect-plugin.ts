/**
 * `svr inspect plugin <name>`: a plugin's own store (its LevelDB sublevel `plugin:<name>`, keys
 * `!plugin:<name>!<key>` in the database). A running node is asked over its control socket (LevelDB allows
 * one opener); with `--data-dir`, or when the named node is not running, the database is opened directly.
 */
import { join } from 'node:path';
import type { Command } from 'commander';
import { SvrError, isSvrError } from '../errors.js';
import { request } from '../node/control-client.js';
import { Store } from '../store/store.js';
import { renderTable } from '../util/text-table.js';
import { selectNodeSocket, type NodeSelector } from './node-select.js';

interface PluginInspectOptions extends NodeSelector {
  dataDir?: string;
  prefix?: string;
  limit: string;
  json?: boolean;
}

type Entry = { key: string; value: unknown };

async function fromDatabase(dir: string, plugin: string, prefix: string | undefined, limit: number): Promise<Entry[]> {
  const store = await Store.open(dir);
  try {
    return await store.pluginEntries(plugin, { ...(prefix !== undefined ? { prefix } : {}), limit });
  } finally {
    await store.close();
  }
}

async function entries(plugin: string, o: PluginInspectOptions, limit: number): Promise<Entry[]> {
  if (o.dataDir !== undefined) return fromDatabase(o.dataDir, plugin, o.prefix, limit);
  let socket: string | undefined;
  try {
    socket = selectNodeSocket(o);
  } catch (e) {
    if (!isSvrError(e, 'SVR_ERR_CONTROL_CONNECT') || o.node === undefined) throw e;
  }
  if (socket !== undefined) {
    return (await request(socket, { method: 'plugin-store', plugin, ...(o.prefix !== undefined ? { prefix: o.prefix } : {}), limit })) as Entry[];
  }
  return fromDatabase(join(process.env['SVR_DATA_DIR'] ?? '/var/lib/svrouter', o.node!), plugin, o.prefix, limit);
}

function render(rows: Entry[], plugin: string): string {
  if (rows.length === 0) return `plugin ${plugin} has nothing stored`;
  const short = (v: unknown): string => {
    const text = JSON.stringify(v);
    return text.length > 100 ? `${text.slice(0, 97)}...` : text;
  };
  return renderTable(['KEY', 'VALUE'], rows.map((r) => [r.key, short(r.value)]));
}

export function registerInspectPlugin(inspect: Command): void {
  inspect
    .command('plugin <name>')
    .description("a plugin's own store (its LevelDB sublevel plugin:<name>): keys in order, values as JSON")
    .option('--node <name>', 'the node: asked over its control socket while it runs, else $SVR_DATA_DIR/<name> is opened')
    .option('--socket <path>', 'the node control socket')
    .option('--run-dir <dir>', 'where nodes register')
    .option('--data-dir <dir>', "a stopped node's state directory (opened directly)")
    .option('--prefix <text>', 'only keys that start with this')
    .option('--limit <n>', 'at most this many entries, in key order', '100')
    .option('--json', 'print JSON: [{ key, value }]')
    .addHelpText('after', `
Plugins write their store through ctx.store in their control part (docs/plugins.md); in the node's
LevelDB the keys are !plugin:<name>!<key>.

Examples:
  svr inspect plugin example.session-guard --node r1
  svr inspect plugin example.session-guard --node r1 --prefix refused/ --json
  svr inspect plugin builtin.nat --data-dir /var/lib/svrouter/r2`)
    .action(async (name: string, o: PluginInspectOptions) => {
      try {
        const limit = Number(o.limit);
        if (!Number.isInteger(limit) || limit < 1) throw new SvrError('SVR_ERR_CLI_OPTION', `--limit ${o.limit}: give a whole number of entries, at least 1`);
        const rows = await entries(name, o, limit);
        process.stdout.write((o.json ? JSON.stringify(rows, null, 2) : render(rows, name)) + '\n');
      } catch (e) {
        if (!isSvrError(e)) throw e;
        process.stderr.write(`svr inspect plugin: ${e.message}\n`);
        process.exitCode = 1;
      }
    });
}
