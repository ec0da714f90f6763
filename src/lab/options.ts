/** Checks of the lab's command options, and the `svr lab down` line that matches them. */
import { lstatSync, mkdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { SvrError } from '../errors.js';
import { DEFAULT_DIR, DEFAULT_PREFIX, PREFIX_PATTERN } from './topology.js';

/** Throws SVR_ERR_LAB_OPTION unless `prefix` is a short lower-case name (namespaces are deleted by it). */
export function checkPrefix(prefix: string): void {
  if (!PREFIX_PATTERN.test(prefix)) {
    throw new SvrError('SVR_ERR_LAB_OPTION', `--prefix "${prefix}": expected 1-20 of a-z 0-9 - starting with a letter (the namespaces are <prefix>-client, <prefix>-r1, ...)`);
  }
}

/** `svr lab down [--prefix P] [--dir D]` for this lab, options only when not the defaults. */
export function downHint(dir: string, prefix: string): string {
  const args = [...(prefix === DEFAULT_PREFIX ? [] : ['--prefix', prefix]), ...(resolve(dir) === resolve(DEFAULT_DIR) ? [] : ['--dir', dir])];
  return ['svr lab down', ...args].join(' ');
}

/**
 * Creates the lab dir if needed and checks it is a real directory of ours that nobody else can write:
 * the lab writes logs and pid files there as root, and the default lives in /tmp.
 */
export function prepareDir(dir: string): void {
  mkdirSync(dir, { recursive: true, mode: 0o755 });
  const st = lstatSync(dir);
  const uid = process.getuid?.();
  const problem = !st.isDirectory() ? 'is not a directory (a symlink?)'
    : uid !== undefined && st.uid !== uid ? `is owned by uid ${st.uid}, not by us (uid ${uid})`
    : (st.mode & 0o022) !== 0 ? `is writable by others (mode ${(st.mode & 0o777).toString(8)})` : undefined;
  if (problem !== undefined) {
    throw new SvrError('SVR_ERR_LAB_OPTION', `lab dir ${dir} ${problem}; remove it or pass another --dir`);
  }
}
