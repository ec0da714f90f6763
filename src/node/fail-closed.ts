/**
 * A node does not run a config whose plugins fail closed (a security plugin that did not load, a refused option
 * of one, a chain naming a stage no plugin provides; docs/security.md "Fail closed"): it refuses the config at
 * start or reload with each failure's field path, as the config validator does (`data.problems`).
 */
import { ConfigError, type ConfigProblem } from '../errors.js';
import type { PluginProblem } from '../control/router-api.js';

/** Throws SVR_ERR_PLUGIN_FAIL_CLOSED with every fail-closed failure of router `router` (`source`: the config file). */
export function refuseFailClosed(failures: readonly PluginProblem[], router: string, source: string): void {
  const problems = failures.filter((f) => f.failClosed).map((f): ConfigProblem => {
    const path = f.path ?? f.at;
    return { path, message: f.message.startsWith(`${path}: `) ? f.message.slice(path.length + 2) : f.message };
  });
  if (problems.length === 0) return;
  const list = problems.map((p) => `${p.path}: ${p.message}`).join('; ');
  throw new ConfigError('SVR_ERR_PLUGIN_FAIL_CLOSED', `${router} does not forward without these (fail closed): ${list}; fix them or set fail-open: true on the plugin`, { source, problems });
}
