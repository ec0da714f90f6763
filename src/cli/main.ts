/**
 * The `svr` command line (bin/svr.js calls `main(process.argv)`). Each command lives in its own module and
 * registers itself on the program here.
 */
import { Command } from 'commander';
import { registerConductor } from './conductor.js';
import { registerConfig } from './config.js';
import { registerDecode } from './decode.js';
import { registerLab } from './lab.js';
import { registerNode } from './node.js';
import { registerShow } from './show.js';
import { registerInspect } from './inspect.js';
import { registerExplain } from './explain.js';
import { registerSetup } from './setup.js';
import { registerIdentity } from './identity.js';
import { packageVersion } from './version.js';

const DESCRIPTION = [
  'svrouter: an open implementation of Secure Vector Routing (SVR), the session-smart, tunnel-free routing '
    + 'of Juniper Session Smart Router (SSR), in TypeScript.',
  "SVR routers forward each session's packets with their own headers, rewritten to the routers' waypoint "
    + "addresses and ports, and carry the session's context (tenant, service, original 5-tuple, session UUID) "
    + "as SVR metadata at the start of the first packets' TCP/UDP payload.",
  'Run "svr help <command>" for the details of a command.',
].join('\n\n');

export function buildProgram(): Command {
  const program = new Command('svr')
    .description(DESCRIPTION)
    .version(packageVersion(), '-V, --version', 'print the svrouter version')
    .showHelpAfterError('(run "svr --help" for usage)');
  registerNode(program);
  registerShow(program);
  registerInspect(program);
  registerExplain(program);
  registerDecode(program);
  registerLab(program);
  registerSetup(program);
  registerIdentity(program);
  registerConductor(program);
  registerConfig(program);
  return program;
}

export async function main(argv: string[]): Promise<void> {
  await buildProgram().parseAsync(argv);
}
