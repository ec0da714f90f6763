/**
 * The `svr` command line (bin/svr.js calls `main(process.argv)`). Each command lives in its own module and
 * registers itself on the program here.
 */
import { Command } from 'commander';
import { isSvrError } from '../errors.js';
import { packageVersion } from './version.js';

const DESCRIPTION = [
  'svrouter: an open implementation of Secure Vector Routing (SVR), the session-smart, tunnel-free routing '
    + 'of Juniper Session Smart Router (SSR), in TypeScript.',
  "SVR routers forward each session's packets with their own headers, rewritten to the routers' waypoint "
    + "addresses and ports, and carry the session's context (tenant, service, original 5-tuple, session UUID) "
    + "as SVR metadata at the start of the first packets' TCP/UDP payload.",
  'Run "svr help <command>" for the details of a command.',
].join('\n\n');

type Register = (program: Command) => void;

/**
 * Each command's module, loaded only when the command runs (`svr show` need not load the conductor's etcd,
 * GraphQL and gRPC modules: measured 0.7 s of CPU for `svr --version` with every module, 0.1-0.4 s with one).
 * The order is the order of `svr --help`.
 */
const COMMANDS: ReadonlyArray<readonly [string, () => Promise<Register>]> = [
  ['node', async () => (await import('./node.js')).registerNode],
  ['show', async () => (await import('./show.js')).registerShow],
  ['inspect', async () => (await import('./inspect.js')).registerInspect],
  ['explain', async () => (await import('./explain.js')).registerExplain],
  ['decode', async () => (await import('./decode.js')).registerDecode],
  ['lab', async () => (await import('./lab.js')).registerLab],
  ['setup', async () => (await import('./setup.js')).registerSetup],
  ['identity', async () => (await import('./identity.js')).registerIdentity],
  ['conductor', async () => (await import('./conductor.js')).registerConductor],
  ['config', async () => (await import('./config.js')).registerConfig],
];

/** The program with the commands that `argv` can reach: the named one (also after `help`), none for the version, else all. */
export async function buildProgram(argv: readonly string[] = []): Promise<Command> {
  const program = new Command('svr')
    .description(DESCRIPTION)
    .version(packageVersion(), '-V, --version', 'print the svrouter version')
    .showHelpAfterError('(run "svr --help" for usage)');
  const first = argv[2] === 'help' ? argv[3] : argv[2];
  const named = COMMANDS.filter(([name]) => name === first);
  const version = first === '-V' || first === '--version';
  for (const [, load] of version ? [] : named.length > 0 ? named : COMMANDS) (await load())(program);
  return program;
}

/**
 * The message for an error no command reported itself, always coded: a SvrError's own, a system error's
 * (EACCES, ENOENT, EADDRINUSE...: SVR_ERR_CLI_SYSTEM), anything else a bug (SVR_ERR_CLI_INTERNAL, with its stack).
 */
export function describeFailure(e: unknown): string {
  if (isSvrError(e)) return `svr: ${e.message} [${e.code}]`;
  const code = (e as { code?: unknown } | null)?.code;
  if (e instanceof Error && typeof code === 'string' && /^E[A-Z0-9]+$/.test(code)) {
    const hint = code === 'EACCES' || code === 'EPERM' ? ' (run it as root or with the rights it needs)' : '';
    return `svr: ${e.message}${hint} [SVR_ERR_CLI_SYSTEM]`;
  }
  const detail = e instanceof Error ? (e.stack ?? e.message) : String(e);
  return `svr: the command failed unexpectedly, a bug: please report it with what follows [SVR_ERR_CLI_INTERNAL]\n${detail}`;
}

export async function main(argv: string[]): Promise<void> {
  try {
    await (await buildProgram(argv)).parseAsync(argv);
  } catch (e) {
    process.stderr.write(`${describeFailure(e)}\n`);
    process.exitCode = 1;
  }
}
