/**
 * Where running nodes can be found: each node writes `<run-dir>/nodes/<name>.json` at start and removes
 * it at stop. `svr show` / `svr node stop` look nodes up here; entries whose pid is gone are stale.
 * Run dir: `--run-dir`, else $SVR_RUN_DIR, else /run/svrouter.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface NodeEntry {
  name: string;
  pid: number;
  socket: string;
  config: string;
  startedAt: string;
}

export function runDir(explicit?: string): string {
  return explicit ?? process.env['SVR_RUN_DIR'] ?? '/run/svrouter';
}

export function defaultSocket(dir: string, name: string): string {
  return join(dir, `${name}.sock`);
}

function entryPath(dir: string, name: string): string {
  return join(dir, 'nodes', `${name}.json`);
}

export function register(dir: string, entry: NodeEntry): void {
  mkdirSync(join(dir, 'nodes'), { recursive: true });
  writeFileSync(entryPath(dir, entry.name), JSON.stringify(entry, null, 2) + '\n');
}

export function unregister(dir: string, name: string, pid: number): void {
  const e = readEntry(dir, name);
  if (e !== undefined && e.pid === pid) rmSync(entryPath(dir, name), { force: true });
}

export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function readEntry(dir: string, name: string): NodeEntry | undefined {
  try {
    return JSON.parse(readFileSync(entryPath(dir, name), 'utf8')) as NodeEntry;
  } catch {
    return undefined;
  }
}

/** The registered node called `name` if its process is alive. */
export function findNode(dir: string, name: string): NodeEntry | undefined {
  const e = readEntry(dir, name);
  return e !== undefined && alive(e.pid) ? e : undefined;
}

/** Every registered node whose process is alive. */
export function liveNodes(dir: string): NodeEntry[] {
  const d = join(dir, 'nodes');
  if (!existsSync(d)) return [];
  return readdirSync(d)
    .filter((f) => f.endsWith('.json'))
    .map((f) => readEntry(dir, f.slice(0, -5)))
    .filter((e): e is NodeEntry => e !== undefined && alive(e.pid));
}
