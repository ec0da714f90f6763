/**
 * `svr setup`: installs every system tool the lab, the tests and the benchmark use (apt-get, as root) and
 * builds the native addon if `npm ci` could not; `--check` only reports.
 */
import type { Command } from 'commander';
import { isSvrError } from '../errors.js';
import { ALL_HOST_TOOLS, HOST_TOOLS, missingTools, packagesFor } from '../lab/host-tools.js';
import { isRoot } from '../lab/run.js';
import { nativeAddonBuilt, setupHost } from '../lab/setup.js';

const HELP_AFTER = `
Tools (Debian/Ubuntu package: what uses it):
${ALL_HOST_TOOLS.map((t) => `  ${t.padEnd(13)}${HOST_TOOLS[t].pkg}: ${HOST_TOOLS[t].usedBy}`).join('\n')}

As root on Debian/Ubuntu it runs \`apt-get install -y <the missing packages>\` (one line says which);
otherwise it prints the one command to run. \`svr lab up\` and \`svr lab demo\` do the same for the
programs the lab needs. SVR_HIDE_TOOLS=tcpdump,curl makes the named programs count as missing.

Examples:
  npx svr setup            (as root)
  npx svr setup --check    what is missing, exit 1 if anything is`;

const say = (line: string): void => void process.stdout.write(`${line}\n`);

/** `env`: {} after an install (checked for real), process.env for --check (SVR_HIDE_TOOLS applies). */
function report(env: NodeJS.ProcessEnv): boolean {
  const missing = missingTools(ALL_HOST_TOOLS, env);
  const addon = nativeAddonBuilt();
  if (missing.length > 0) say(`missing: ${missing.join(' ')} (packages: ${packagesFor(missing).join(' ')}); run: ${isRoot() ? '' : 'sudo '}npx svr setup`);
  if (!addon) say(`the native addon is not built; run: ${isRoot() ? '' : 'sudo '}npx svr setup`);
  if (missing.length === 0 && addon) say(`ready: all ${ALL_HOST_TOOLS.length} tools the lab, tests and benchmark use are installed; the native addon is built`);
  return missing.length === 0 && addon;
}

export function registerSetup(program: Command): void {
  program
    .command('setup')
    .summary('install the system tools the lab, tests and benchmark use (apt-get, as root); build the native addon')
    .option('--check', 'only say what is missing (exit 1 if anything is)')
    .addHelpText('after', HELP_AFTER)
    .action((o: { check?: boolean }) => {
      try {
        if (o.check !== true) setupHost(say);
        if (!report(o.check === true ? process.env : {})) process.exitCode = 1;
      } catch (e) {
        if (!isSvrError(e)) throw e;
        process.stderr.write(`svr setup: ${e.message} [${e.code}]\n`);
        process.exitCode = 1;
      }
    });
}
