/**
 * `svr lab up|status|demo|down`: two svrouter nodes, a client and a server in four network namespaces
 * on this host, SVR on a real veth between the routers. `serve` and `udp-probe` are the lab's own
 * server and client, run inside the namespaces.
 */
import type { Command } from 'commander';
import { isSvrError } from '../errors.js';
import { labDemo } from '../lab/demo.js';
import { labDown } from '../lab/down.js';
import { parseHostPort, startServers } from '../lab/servers.js';
import { labStatus, renderStatus } from '../lab/status.js';
import { DEFAULT_DIR, DEFAULT_PREFIX, ECHO_PORT, HTTP_PORT, SERVER } from '../lab/topology.js';
import { udpProbe } from '../lab/udp-probe.js';
import { labUp } from '../lab/up.js';

interface LabOptions {
  dir: string;
  prefix: string;
}

const TOPOLOGY = `
Topology (every address in 198.18.0.0/15, only inside the namespaces; <p> = --prefix, default svr):
  <p>-client            <p>-r1                              <p>-r2                          <p>-server
  c-r1 198.18.1.10/24 -- r1-c 198.18.1.1  r1-r2 198.18.2.1 == r2-r1 198.18.2.2  r2-s 198.18.3.1 -- s-r2 198.18.3.20/24
  (+198.18.5.10/32,        node r1: svr-lan0, svr-wan0       node r2: svr-wan0, svr-lan0
   in no tenant)           waypoint 198.18.12.1              waypoint 198.18.12.2
  lan veths mtu 1500, the wan veth (==) mtu 1700. On the wan veth only SVR packets between the
  waypoints 198.18.12.1 and 198.18.12.2 travel; the client's own packets never do.

Services on the server (tenant engineering = 198.18.1.0/24 may reach all three):
  web    http://198.18.3.20/  (/, /bytes/<n> with X-Sha256, /health)
  echo   udp 198.18.3.20:7
  iperf  198.18.3.20:5201 (iperf3 -s)`;

const GROUP_HELP = `${TOPOLOGY}

Needs root (network namespaces, veths, TUN devices) and iproute2, iperf3, curl. Without root,
\`npm run example\` runs the same two routers with a simulated client and server in one process.

Examples:
  sudo svr lab up                                     build it and start everything
  sudo ip netns exec svr-client curl http://198.18.3.20/
  sudo svr show sessions --node r1                    r1's session table
  sudo ip netns exec svr-r1 tcpdump -ni r1-r2 -w wan.pcap    then: svr decode wan.pcap --metadata-only
  sudo svr lab status
  sudo svr lab down
  sudo svr lab demo                                   all of the above in one go, then down
See docs/lab.md.`;

const UP_HELP = `
What it does, one progress line per step:
  1. creates the namespaces <p>-client, <p>-r1, <p>-r2, <p>-server (refuses if one exists: run
     \`svr lab down\` first), the three veth pairs, addresses, default routes of client and server,
     IPv4 forwarding and rp_filter=0 on the routers, IPv6 off everywhere; on r1 and r2 the route to
     the peer's waypoint over the wan veth and \`ip rule iif <lan veth> lookup 100\`
  2. writes <dir>/authority.yaml (one tenant, three services, both routers; commented)
  3. starts \`svr node start --name r1\` in <p>-r1 and r2 in <p>-r2 (sockets <dir>/r1.sock and
     <dir>/r2.sock, logs <dir>/r1.log and <dir>/r2.log); each creates its TUN devices svr-lan0 and
     svr-wan0 and routes table 100 and its waypoint into them
  4. starts \`svr lab serve\` (HTTP on 198.18.3.20:80, UDP echo on :7) and \`iperf3 -s\` in <p>-server
  5. records the lab in <dir>/state.json and <run-dir>/lab.json (so \`svr show\` finds r1 and r2)
${TOPOLOGY}

Examples:
  sudo svr lab up
  sudo svr lab up --prefix svrt --dir /tmp/svrt     a second, separate lab (e.g. for tests)`;

const DEMO_HELP = `
Steps: svr lab up; from <p>-client: GET http://198.18.3.20/, a 10 MiB download whose sha256 is checked
against the server's X-Sha256 header, a UDP echo ("hello"), 5 s of iperf3 (TCP); both routers' session
tables (svr show sessions); svr lab down (unless --keep). A summary at the end; exit status 1 when a
step failed (the lab is still torn down).

Examples:
  sudo svr lab demo
  sudo svr lab demo --keep        leave the lab up afterwards to look around`;

const DOWN_HELP = `
Stops the lab's processes (nodes with SIGTERM, then SIGKILL after 5 s; a recorded pid is only signalled
while its command line is still the lab's), then anything else running inside the four namespaces,
then deletes the namespaces by exact name, which removes the veths and the nodes' TUN devices. Works
after a node crashed or was killed, and when nothing is there (exit 0). Logs stay in <dir>.

Examples:
  sudo svr lab down
  sudo svr lab down --prefix svrt --dir /tmp/svrt`;

function fail(cmd: string, e: unknown): void {
  if (!isSvrError(e)) throw e;
  process.stderr.write(`svr lab ${cmd}: ${e.message} [${e.code}]\n`);
  process.exitCode = 1;
}

const progress = (line: string): void => void process.stdout.write(`${line}\n`);

/** On SIGINT/SIGTERM during a long command: tear the lab down, then exit. */
function tearDownOnSignal(o: LabOptions): () => void {
  const handler = (sig: NodeJS.Signals): void => {
    process.stdout.write(`\n${sig}: tearing the lab down\n`);
    labDown({ dir: o.dir, prefix: o.prefix, progress }).finally(() => process.exit(130));
  };
  process.once('SIGINT', handler);
  process.once('SIGTERM', handler);
  return () => {
    process.off('SIGINT', handler);
    process.off('SIGTERM', handler);
  };
}

function labOptions(c: Command): Command {
  return c
    .option('--dir <dir>', 'lab directory: config, logs, pid files, sockets, state.json', DEFAULT_DIR)
    .option('--prefix <prefix>', 'namespace prefix: <prefix>-client, <prefix>-r1, <prefix>-r2, <prefix>-server', DEFAULT_PREFIX);
}

export function registerLab(program: Command): void {
  const lab = program
    .command('lab')
    .summary('a two-router lab in network namespaces: up, status, demo, down')
    .description('Two svrouter nodes, a client and a server in four network namespaces on this host, with SVR packets on a real veth between the routers.')
    .addHelpText('after', GROUP_HELP);

  labOptions(lab.command('up').description('build the lab and start the nodes and servers').addHelpText('after', UP_HELP))
    .action(async (o: LabOptions) => {
      const untrap = tearDownOnSignal(o);
      try {
        await labUp({ dir: o.dir, prefix: o.prefix, progress });
      } catch (e) {
        fail('up', e);
      } finally {
        untrap();
      }
    });

  labOptions(lab.command('status').description('namespaces, interfaces, addresses, services, nodes and pids of the lab'))
    .option('--json', 'print one JSON object')
    .addHelpText('after', '\nExamples:\n  sudo svr lab status\n  sudo svr lab status --json | jq .processes')
    .action(async (o: LabOptions & { json?: boolean }) => {
      try {
        const s = await labStatus(o.dir, o.prefix);
        process.stdout.write(o.json === true ? `${JSON.stringify(s, null, 2)}\n` : renderStatus(s));
      } catch (e) {
        fail('status', e);
      }
    });

  labOptions(lab.command('demo').description('up, curl/UDP/iperf3 through the routers, session tables, down'))
    .option('--keep', 'leave the lab up at the end')
    .addHelpText('after', DEMO_HELP)
    .action(async (o: LabOptions & { keep?: boolean }) => {
      const untrap = tearDownOnSignal(o);
      try {
        if (!(await labDemo({ dir: o.dir, prefix: o.prefix, keep: o.keep === true, out: progress }))) process.exitCode = 1;
      } catch (e) {
        fail('demo', e);
      } finally {
        untrap();
      }
    });

  labOptions(lab.command('down').description('stop the lab processes and delete its namespaces (idempotent)').addHelpText('after', DOWN_HELP))
    .action(async (o: LabOptions) => {
      try {
        await labDown({ dir: o.dir, prefix: o.prefix, progress });
      } catch (e) {
        fail('down', e);
      }
    });

  lab
    .command('serve')
    .description('the lab server (run by `svr lab up` inside <prefix>-server): HTTP and a UDP echo')
    .option('--http <addr:port>', 'HTTP listen address', `${SERVER}:${HTTP_PORT}`)
    .option('--udp <addr:port>', 'UDP echo listen address', `${SERVER}:${ECHO_PORT}`)
    .option('--lab <name>', 'lab name shown on the page', DEFAULT_PREFIX)
    .addHelpText('after', `
HTTP:  /             a short page naming the lab
       /bytes/<n>    n deterministic pseudo-random bytes (same n, same bytes), streamed, with
                     Content-Length and X-Sha256 (their sha256, hex)
       /health       "ok"
       Every response has X-Client-Address: the client address the server sees.
UDP:   every datagram is sent back to its sender.
One log line per request or datagram. Stops on SIGINT/SIGTERM.

Example (by hand, any namespace with the address):
  ip netns exec svr-server svr lab serve --http 198.18.3.20:8080 --udp 198.18.3.20:7007`)
    .action(async (o: { http: string; udp: string; lab: string }) => {
      const http = parseHostPort(o.http);
      const udp = parseHostPort(o.udp);
      if (http === undefined || udp === undefined) {
        process.stderr.write(`svr lab serve: expected --http/--udp as <address>:<port>, got ${o.http} / ${o.udp}\n`);
        process.exitCode = 1;
        return;
      }
      const log = (line: string): void => void process.stdout.write(`${new Date().toISOString()} ${line}\n`);
      const s = await startServers({ http, udp, lab: o.lab, log });
      log(`listening http ${o.http} udp ${o.udp}`);
      const stop = (sig: string): void => {
        log(`${sig}: stopping`);
        void s.close().then(() => process.exit(0));
      };
      process.once('SIGINT', () => stop('SIGINT'));
      process.once('SIGTERM', () => stop('SIGTERM'));
    });

  lab
    .command('udp-probe')
    .description('send UDP datagrams from one socket and print each reply (the lab client for the echo service)')
    .argument('<host>', 'destination address, e.g. 198.18.3.20')
    .argument('<port>', 'destination port, e.g. 7')
    .argument('[message]', 'payload text', 'hello')
    .option('--count <n>', 'datagrams to send, one after the other, from the same socket (one session)', '1')
    .option('--timeout <ms>', 'wait this long for each reply', '2000')
    .option('--source <addr>', 'bind to this source address')
    .addHelpText('after', '\nExit status 1 when a reply does not come.\n\nExample:\n  ip netns exec svr-client svr lab udp-probe 198.18.3.20 7 hello --count 3')
    .action(async (host: string, port: string, message: string, o: { count: string; timeout: string; source?: string }) => {
      try {
        const replies = await udpProbe({ host, port: Number(port), message, count: Number(o.count), timeoutMs: Number(o.timeout), ...(o.source === undefined ? {} : { source: o.source }) });
        for (const r of replies) process.stdout.write(`reply from ${r.from}: ${JSON.stringify(r.reply)} in ${r.rttMs.toFixed(1)} ms\n`);
      } catch (e) {
        fail('udp-probe', e);
      }
    });
}
