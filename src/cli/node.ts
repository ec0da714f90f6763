/** `svr node start|stop|reload`: run one router on this host; stop or reload a running one. */
import type { Command } from 'commander';
import { availableParallelism } from 'node:os';
import { SvrError, isSvrError } from '../errors.js';
import { BUSY_POLL_DEFAULT_US, BUSY_POLL_MAX_US, checkBusyPollUs } from '../io/tun/busy-poll.js';
import { request } from '../node/control-client.js';
import { startNode } from '../node/node.js';
import { startManagedNode } from '../node/managed.js';
import { selectNodeSocket, type NodeSelector } from './node-select.js';
import { packageVersion } from './version.js';

/** How long `svr node reload` waits for the node's answer (the control socket's default is 5 s). */
const RELOAD_TIMEOUT_MS = 30_000;

interface StartOptions {
  config?: string;
  name?: string;
  conductor?: string;
  assetId?: string;
  token?: string;
  socket?: string;
  runDir?: string;
  dataDir?: string;
  logFormat: 'text' | 'json';
  workers: string;
  busyPoll: string;
  haNode?: string;
}

/** `--workers`: a count 1-64, or "auto" (one per core). */
export function parseWorkers(value: string): number {
  if (value === 'auto') return Math.min(64, availableParallelism());
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > 64) {
    throw new SvrError('SVR_ERR_CLI_OPTION', `--workers ${value}: give a count from 1 to 64, or auto (one per core, ${availableParallelism()} here)`);
  }
  return n;
}

/** `--busy-poll`: whole µs, 0 (off) to BUSY_POLL_MAX_US. */
export function parseBusyPoll(value: string): number {
  return checkBusyPollUs(value.trim() === '' ? Number.NaN : Number(value), `--busy-poll ${value}`);
}

const START_HELP = `
What it does:
  Loads the authority config, picks router NAME, creates one TUN device per interface of that router
  (interface \`device\`, default svr-<interface>), sets its MTU, routes the router's waypoint and the
  interface's \`kernel-routes\` into it, and forwards: LAN packets that reach the LAN devices become SVR
  sessions toward peer routers; SVR packets for the waypoint come back through the WAN device.
  Logs one line per event (node, interfaces, peers, sessions: rate-limited) on stdout.
  --workers N runs the data path in N worker threads (auto: one per core), each with its own queue of
  every TUN device; control (BFD, STEP, handshakes, the control socket) stays on the main thread.
  SIGINT/SIGTERM: stops cleanly; the devices and their routes disappear. SIGHUP: reloads the config
  (a bad file is refused with the path of each bad field, and the running config stays).
  With a \`management\` block on the router it serves its REST API, OpenAPI document, /documentation and
  Prometheus /metrics (bearer tokens; docs/visibility.md); alarms and events: svr show alarms|events.

Needs root or CAP_NET_ADMIN (TUN devices, routes). Steering traffic into the LAN device is up to the
host: e.g. \`ip rule add iif eth1 lookup 100\` plus \`kernel-routes: [{ prefix: default, table: 100 }]\`.
See docs/real-hosts.md.

Managed by a conductor (docs/conductor.md): --conductor URL[,URL] --asset-id ID instead of --config and
--name. The first start enrols with a one-time --token (svr conductor token create); the node keeps its
certificate and the last config it activated in its --data-dir, forwards on that config while no
conductor is reachable, and follows the conductor's versions when it is.

Examples:
  svr node start --config examples/configs/two-routers.yaml --name r1
  svr node start --conductor https://198.18.51.1:4443 --asset-id r1 --token SVR1.... --data-dir /var/lib/svrouter/r1
  svr show sessions --node r1
  svr node stop --node r1`;

function fail(cmd: string, e: unknown): void {
  if (!isSvrError(e)) throw e;
  process.stderr.write(`svr ${cmd}: ${e.message}\n`);
  process.exitCode = 1;
}

export function registerNode(program: Command): void {
  const node = program.command('node').summary('run a router (svr node start), or stop, reload or switch over a running one').description('Run one SVR router on this host, or control a running one.');
  node
    .command('start')
    .description('run one router in the foreground')
    .option('-c, --config <file>', 'authority config file (YAML or JSON)')
    .option('-n, --name <router>', 'which router of the config this node is')
    .option('--ha-node <name>', "a router pair's node: which of the router's redundancy.nodes this is (names its registry entry, socket and data dir)")
    .option('--conductor <urls>', 'comma-separated conductor URLs: the config comes from the conductor (no --config)')
    .option('--asset-id <id>', 'with --conductor: the asset id this node presents (the router whose asset-id it is)')
    .option('--token <token>', 'with --conductor: one-time enrolment token for the first start (default $SVR_ENROL_TOKEN)')
    .option('--socket <path>', 'control socket (default <run-dir>/<name>.sock)')
    .option('--run-dir <dir>', 'where nodes register (default $SVR_RUN_DIR or /run/svrouter)')
    .option('--data-dir <dir>', 'LevelDB state (default $SVR_DATA_DIR/<name> or /var/lib/svrouter/<name>)')
    .option('--log-format <format>', 'text or json', 'text')
    .option('--workers <n|auto>', 'data-path worker threads (1: data path on the main thread)', '1')
    .option('--busy-poll <us>', `after a packet, keep polling the TUN queues for this many µs before sleeping (0: off, at most ${BUSY_POLL_MAX_US}); docs/tun-io.md`, String(BUSY_POLL_DEFAULT_US))
    .addHelpText('after', START_HELP)
    .action(async (o: StartOptions) => {
      try {
        const workers = parseWorkers(o.workers);
        const busyPollUs = parseBusyPoll(o.busyPoll);
        const common = { socket: o.socket, runDir: o.runDir, dataDir: o.dataDir, logFormat: o.logFormat === 'json' ? 'json' as const : 'text' as const, workers, busyPollUs, version: packageVersion() };
        if (o.conductor !== undefined) {
          if (o.assetId === undefined || o.config !== undefined) throw new SvrError('SVR_ERR_CLI_OPTION', '--conductor needs --asset-id and no --config (the config comes from the conductor)');
          const conductors = o.conductor.split(',').map((u) => u.trim()).filter((u) => u !== '');
          const token = o.token ?? process.env['SVR_ENROL_TOKEN'];
          const m = await startManagedNode({ ...common, conductors, assetId: o.assetId, ...(token === undefined ? {} : { token }) });
          process.once('SIGINT', () => void m.stop('SIGINT'));
          process.once('SIGTERM', () => void m.stop('SIGTERM'));
          await m.done;
          return;
        }
        if (o.config === undefined || o.name === undefined) throw new SvrError('SVR_ERR_CLI_OPTION', 'pass --config FILE --name ROUTER, or --conductor URL --asset-id ID');
        const n = await startNode({ ...common, configPath: o.config, name: o.name, ...(o.haNode === undefined ? {} : { haNode: o.haNode }) });
        process.once('SIGINT', () => void n.stop('SIGINT'));
        process.once('SIGTERM', () => void n.stop('SIGTERM'));
        process.on('SIGHUP', () => void n.reload().catch(() => undefined)); // refusals are logged
        await n.done;
      } catch (e) {
        fail('node start', e);
      }
    });
  const selectorOptions = (c: Command) => c
    .option('--node <name>', 'the node to talk to (from the run-dir registry or a running lab)')
    .option('--socket <path>', 'the node control socket')
    .option('--run-dir <dir>', 'where nodes register (default $SVR_RUN_DIR or /run/svrouter)');
  selectorOptions(node.command('stop').description('stop a running node (it removes its TUN devices)'))
    .action(async (o: NodeSelector) => {
      try {
        await request(selectNodeSocket(o), { method: 'stop' });
        process.stdout.write('stopping\n');
      } catch (e) {
        fail('node stop', e);
      }
    });
  selectorOptions(node.command('switchover').description("a router pair's active node hands over to its standby (planned; docs/high-availability.md)"))
    .action(async (o: NodeSelector) => {
      try {
        await request(selectNodeSocket(o), { method: 'switchover' });
        process.stdout.write('switching over\n');
      } catch (e) {
        fail('node switchover', e);
      }
    });
  selectorOptions(node.command('reload').description('re-read the config file of a running node (bad files are refused)'))
    .action(async (o: NodeSelector) => {
      try {
        // a reload parses, checks and compiles the file and applies it to every worker: at load average 20-25 that took over 5 s
        await request(selectNodeSocket(o), { method: 'reload' }, RELOAD_TIMEOUT_MS);
        process.stdout.write('config applied\n');
      } catch (e) {
        fail('node reload', e);
      }
    });
}
