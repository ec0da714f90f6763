/**
 * A private copy of the build the benchmark measures. Other engineers rebuild dist/ in this working tree
 * while a run takes ~15 minutes; the nodes (and the in-process memory benchmark) run from a snapshot taken
 * at the start, so one run measures one build: package.json, bin/, dist/src, dist/bench, the native
 * addon, and node_modules as a symlink.
 */
import { cpSync, mkdirSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';

/** Where snapshotBuild puts the copy inside a run's directory. */
export function snapshotDir(dir: string): string {
  return join(dir, 'build-snapshot');
}

export function snapshotBuild(root: string, dir: string): string {
  const snap = snapshotDir(dir);
  mkdirSync(join(snap, 'build', 'Release'), { recursive: true });
  cpSync(join(root, 'package.json'), join(snap, 'package.json'));
  cpSync(join(root, 'bin'), join(snap, 'bin'), { recursive: true });
  cpSync(join(root, 'dist', 'src'), join(snap, 'dist', 'src'), { recursive: true });
  cpSync(join(root, 'dist', 'bench'), join(snap, 'dist', 'bench'), { recursive: true });
  cpSync(join(root, 'build', 'Release', 'svr_native.node'), join(snap, 'build', 'Release', 'svr_native.node'));
  symlinkSync(join(root, 'node_modules'), join(snap, 'node_modules'), 'dir');
  return snap;
}
