/**
 * What a reload cannot change: a node sets these up when it starts, so a config (file or conductor push) that
 * changes any is refused with the field path of each (restart the node to apply it), and the running config stays:
 * - the router itself (`authority.routers`, by the node's name);
 * - its interfaces' name, kind, device, mtu and waypoint (they own TUN devices), in order;
 * - `authority.step.mode` (the STEP agent is built for one way of sending documents);
 * - its `redundancy` (a pair's role machine, sync link, heartbeat timers and shared addresses).
 * Paths are the same in a file's kebab-case keys and a config object's camelCase ones (single-word keys only).
 */
import { isDeepStrictEqual } from 'node:util';
import { ConfigError, type ConfigProblem } from '../errors.js';
import type { Interface, SvrConfig } from '../model/config.js';
import { sameRedundancy } from './ha.js';

const RESTART = 'restart the node to apply it';
/** the interface fields a TUN device is opened with */
const DEVICE_FIELDS = ['name', 'kind', 'device', 'mtu', 'waypoint'] as const;

/** The interface fields of `router` that differ between the two configs (added and removed interfaces too). */
export function interfaceChanges(running: SvrConfig, next: SvrConfig, router: string): ConfigProblem[] {
  const at = next.authority.routers.findIndex((r) => r.name === router);
  const was = running.authority.routers.find((r) => r.name === router)?.interfaces ?? [];
  const now = next.authority.routers[at]?.interfaces;
  if (now === undefined) return [];
  const base = `authority.routers[${at}].interfaces`;
  const problems: ConfigProblem[] = [];
  for (let i = 0; i < Math.max(was.length, now.length); i++) {
    const a = was[i];
    const b = now[i];
    if (a === undefined) problems.push({ path: `${base}[${i}]`, message: `interface ${b!.name} added: ${RESTART}` });
    else if (b === undefined) problems.push({ path: base, message: `interface ${a.name} removed: ${RESTART}` });
    else for (const f of DEVICE_FIELDS) if (!isDeepStrictEqual(a[f], b[f])) problems.push({ path: `${base}[${i}].${f}`, message: `changed from ${show(a, f)} to ${show(b, f)}: ${RESTART}` });
  }
  return problems;
}

function show(i: Interface, f: (typeof DEVICE_FIELDS)[number]): string {
  const v = i[f];
  return v === undefined ? '(none)' : JSON.stringify(v);
}

/** How STEP documents travel (`authority.step.mode`, default flood): the agent is built for one at start. */
export function stepMode(c: SvrConfig): string {
  return c.authority.step?.mode ?? 'flood';
}

/** Every field of `next` a reload of node `router` cannot apply (empty: it applies live). */
export function restartOnlyChanges(running: SvrConfig, next: SvrConfig, router: string): ConfigProblem[] {
  const at = next.authority.routers.findIndex((r) => r.name === router);
  if (at < 0) return [{ path: 'authority.routers', message: `no router named "${router}" any more: a reload cannot remove or rename the node's own router` }];
  const problems = interfaceChanges(running, next, router);
  if (stepMode(next) !== stepMode(running)) problems.push({ path: 'authority.step.mode', message: `changed from ${stepMode(running)} to ${stepMode(next)}: ${RESTART}` });
  if (!sameRedundancy(running.authority.routers.find((r) => r.name === router), next.authority.routers[at])) {
    problems.push({ path: `authority.routers[${at}].redundancy`, message: "changed (a pair's roles, sync link and shared addresses are set up at start): restart both nodes to apply it" });
  }
  return problems;
}

/** Throws SVR_ERR_CONFIG_INVALID with every field a reload of node `router` cannot apply (`source`: the file or the conductor's version). */
export function refuseRestartOnly(running: SvrConfig, next: SvrConfig, router: string, source: string): void {
  const problems = restartOnlyChanges(running, next, router);
  if (problems.length === 0) return;
  const lines = problems.map((p) => `  ${p.path}: ${p.message}`).join('\n');
  throw new ConfigError('SVR_ERR_CONFIG_INVALID', `${source}: a reload cannot change these of ${router} (restart the node for them):\n${lines}`, { source, problems });
}
