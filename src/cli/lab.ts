/**
 * `svr lab up|status|impair|demo|down`: two svrouter nodes, a client and a server in network namespaces
 * on this host, SVR on one or more WAN paths between the routers, each through a userspace link emulator
 * in its own namespace. `serve`, `udp-probe` and `send-stream` are the lab's own server and clients,
 * run inside the namespaces; `emulate` is the link emulator `up` starts.
 */
import type { Command } from 'commander';
import { isSvrError } from '../errors.js';
import { labDemo } from '../lab/demo.js';
import { labDown } from '../lab/down.js';
import { FABRIC_TOPOLOGIES, MAX_ROUTERS } from '../lab/fabric.js';
import { runEmulator } from '../lab/emulator.js';
import { labImpair, renderEmulator } from '../lab/impair.js';
import { natRebind } from '../lab/nat.js';
import { parseHostPort, startServers, type HostPort } from '../lab/servers.js';
import { checkShape, LAB_PROFILES, RESILIENCY_MODES, SLA_MODES } from '../lab/shape.js';
import { labStatus, renderStatus } from '../lab/status.js';
import { sendStream } from '../lab/stream.js';
import { DEFAULT_DIR, DEFAULT_PREFIX, ECHO_PORT, HTTP_PORT, MAX_PATHS, SERVER, STREAM_PORT } from '../lab/topology.js';
import { udpPing, udpProbe } from '../lab/udp-probe.js';
import { parseCount, parseDuration } from '../lab/units.js';
import { labUp } from '../lab/up.js';
import { SvrError } from '../errors.js';

export interface LabOptions {
  dir: string;
  prefix: string;
}

const TOPOLOGY = `
Topology (every address in 198.18.0.0/15, only inside the namespaces; <p> = --prefix, default svr):
  <p>-client           <p>-r1                                 <p>-link1                          <p>-r2                           <p>-server
  c-r1 198.18.1.10 -- r1-c 198.18.1.1  r1-r2 198.18.21.1 == lk-r1 .254 [emulator] lk-r2 .254 == r2-r1 198.18.31.2  r2-s 198.18.3.1 -- s-r2 198.18.3.20
  (+198.18.5.10/32,    node r1: svr-lan0, svr-wan0..                                        node r2: svr-wan0.., svr-lan0
   in no tenant)       path k: veth r1-r2 (k=1) / r1-r2p<k>, 198.18.(20+k).1; waypoints 198.18.(11+k).1 and .2;
                       link namespace <p>-link<k>; r2's veth r2-r1 / r2-r1p<k>, 198.18.(30+k).2
  lan veths mtu 1500, wan veths (==) mtu 1700. On the wan veths only SVR packets between the
  waypoints travel; the client's own packets never do. \`svr lab impair\` sets delay, jitter, loss
  or down per path and direction.

Services on the server (tenant engineering = 198.18.1.0/24 may reach all four):
  web     http://198.18.3.20/  (/, /bytes/<n> with X-Sha256, /health, /stream-stats)
  stream  udp 198.18.3.20:5000 (svr lab send-stream; counts at /stream-stats)
  echo    udp 198.18.3.20:7
  iperf   198.18.3.20:5201 (iperf3 -s)`;

const GROUP_HELP = `${TOPOLOGY}

Needs root (network namespaces, veths, TUN devices) and iproute2, iperf3, curl: as root on Debian/Ubuntu,
\`up\` and \`demo\` install the missing ones with apt-get (\`svr setup\`: every tool). Without root,
\`npm run example\` runs the same two routers with a simulated client and server in one process.

Examples:
  sudo svr lab up                                     build it and start everything
  sudo svr lab up --paths 2 --bfd-interval 100        two WAN paths, fast failure detection
  sudo svr lab impair --path 1 --delay 80ms --loss 2%
  sudo ip netns exec svr-client curl http://198.18.3.20/
  sudo svr show sessions --node r1                    r1's session table
  sudo ip netns exec svr-r1 tcpdump -ni r1-r2 -w wan.pcap    then: svr decode wan.pcap --metadata-only
  sudo svr lab status
  sudo svr lab down
  sudo svr lab demo                                   all of the above in one go, then down
See docs/lab.md.`;

const UP_HELP = `
What it does, one progress line per step:
  1. creates the namespaces <p>-client, <p>-r1, <p>-r2, <p>-server and <p>-link1..<p>-link<N>
     (refuses if one exists: run \`svr lab down\` first), the veth pairs (two per path: r1 to the link
     namespace, the link namespace to r2), addresses, default routes of client and server, IPv4
     forwarding and rp_filter=0 on the routers and links, IPv6 off everywhere; on r1 and r2 the route
     to the peer's waypoint of each path over that path's veth and \`ip rule iif <lan veth> lookup 100\`;
     in each link namespace \`ip rule iif lk-r1 lookup 201\` / \`iif lk-r2 lookup 202\`
  2. writes <dir>/authority.yaml (one tenant, four services, two service-policies, both routers with
     one wan interface per path; commented)
  3. starts one link emulator per path (\`svr lab emulate\`) in <p>-link<k>: its TUN devices
     emu-to-r2/emu-to-r1 take every packet arriving from r1/r2, hold it for the configured delay,
     drop it for loss or when the link is down, and write it back; socket <dir>/link<k>.sock
  4. starts \`svr node start --name r1\` in <p>-r1 and r2 in <p>-r2 (sockets <dir>/r1.sock and
     <dir>/r2.sock, logs <dir>/r1.log and <dir>/r2.log); each creates its TUN devices svr-lan0 and
     svr-wan0 and routes table 100 and its waypoint into them
  5. starts \`svr lab serve\` (HTTP on 198.18.3.20:80, UDP echo on :7, stream receiver on :5000) and
     \`iperf3 -s\` in <p>-server
  6. records the lab in <dir>/state.json and <run-dir>/lab.json (so \`svr show\` finds r1 and r2)
${TOPOLOGY}

--profile plugins (docs/lab.md, "The plugins profile") adds, on top of the above:
  namespaces    <p>-internet (i-r2 198.18.40.10/24, a UDP echo on :7) behind r2's veth r2-i, and
                <p>-fn, r1's external function: after node r1 starts, its TUN devices svr-sfc-out and
                svr-sfc-in are moved there and that kernel forwards sfc-out -> sfc-in
  addresses     client 198.18.1.11 and 198.18.1.12 (engineering), 198.18.6.10 (tenant guest);
                server 198.18.3.21 with a second \`svr lab serve\` (HTTP)
  services      tls (tcp 443, no server started), iperf-limited (5202, no server started),
                web-lb (http://198.18.4.100/), internet (udp 198.18.40.0/24 port 7);
                stream goes through the external function
  plugins       every router: qos (iperf-limited at 20 Mbit/s per direction)
                r1: firewall (zones: guest opens nothing), dos (50 new sessions/s per source, burst
                1200), appid (on tls), external-function (on stream)
                r2: nat (internet: source 198.18.40.1, ports 16384-65534), lb (web-lb: 198.18.3.20
                and 198.18.3.21, capacities 200 and 600, proportional)
  \`svr lab down\` deletes <p>-internet and <p>-fn too.

--routers N --topology hub-spoke|mesh|chain (the N-router lab, docs/lab.md "More routers") instead:
  namespaces    <p>-r1..<p>-rN (a node each), <p>-h1..<p>-hN (a host behind each: h-r 198.18.(100+i).10,
                \`svr lab serve\` with HTTP on :80 and a UDP echo on :7), <p>-wan (the shared WAN: every
                router's veth wan 198.19.i.1, every waypoint 198.19.(100+i).1 routed there)
  config        service site<i> per host, delivered by r<i>; every router's wan0 is in neighborhoods
                that give the topology: hub-spoke (r1 hub, the others spokes: only hub<->spoke paths),
                mesh (every pair), chain (r1-r2, r2-r3, ...); no service-route toward a peer: STEP
                tells each router where a site is, and a router in between continues the session
                as SVR (multi-hop). No link emulators here (\`svr lab impair\` is for the two-router lab).
--conductor     a conductor in <p>-conductor (a veth to every router, 198.18.(50+i).1) owns the config;
                it writes the peers the neighborhoods give out as generated adjacencies
--etcd N        with --conductor: N etcd members and two conductors (ports 4443 and 4444) in
                <p>-conductor; one leads, the other stands by; the routers know both
--collector (docs/visibility.md) adds an IPFIX collector: namespace <p>-collector with nfcapd on
198.18.9.10:4739/udp (files in <dir>/ipfix, a new one every --collector-rotate seconds, default 60;
nfdump reads complete files), a veth to each router (r1-col 198.18.9.1/30, r2-col 198.18.9.5/30)
and a \`telemetry\` block in authority.yaml: both routers export their session records to it. \`svr lab status\` shows it; \`svr lab down\` stops nfcapd by its pid.
Read the records: nfdump -R <dir>/ipfix -o "fmt:%ts %td %pr %sap -> %dap %xsap -> %xdap %pkt %byt".

Examples:
  sudo svr lab up
  sudo svr lab up --paths 2 --bfd-interval 100                        watch failovers (docs/lab.md)
  sudo svr lab up --plugin ./my-plugin='{"ports":[23]}'                try a plugin: both routers load it; edit it, then svr node reload --node r1
  sudo svr lab up --paths 2 --resiliency revertible-failover
  sudo svr lab up --paths 2 --sla --link-test-interval 2              SLA: max-latency 250 ms
  sudo svr lab up --prefix svrt --dir /tmp/svrt     a second, separate lab (e.g. for tests)
  sudo svr lab up --profile plugins                   firewall, dos, nat, appid, qos, lb, external function
  sudo svr lab up --collector                         session records to nfcapd; svr inspect sessions

  sudo svr lab up --conductor --routers 4 --topology hub-spoke       r1 the hub, r2-r4 spokes
  sudo svr lab up --routers 3 --topology chain                       r1 - r2 - r3
  sudo svr lab up --conductor --etcd 3                               two conductors on three etcd members
  sudo svr lab up --bgp                                              FRR in <prefix>-pe: svr show rib, svr show bgp (docs/routing.md)
  sudo svr lab up --ha                                               r1 a pair: svr show ha --node r1a; kill r1a, r1b takes over`;

const IMPAIR_HELP = `
Changes what the link emulator of a path does to its packets, then prints what is in effect on every
path it touched. Without a change it only prints. Changes apply to both directions unless --direction
names one (r1-r2: packets from r1 to r2). Values: durations in ms or s (80ms, 1.5s; a bare number is
ms), loss in percent (2%, 0.5). Jitter is uniform in +-jitter around the delay, without reordering;
loss is random per packet (a deterministic PRNG per link and direction, see --seed of \`svr lab up\`).
--down drops everything (also what is in flight) until --up; the veths stay up, so only the routers'
BFD notices. --flap toggles down/up every period until --clear, --up or --down.

Examples:
  sudo svr lab impair                                         what every path does now
  sudo svr lab impair --path 1 --delay 80ms --jitter 10ms --loss 2%
  sudo svr lab impair --path 1 --delay 300ms --direction r1-r2
  sudo svr lab impair --path 1 --down          (and --up)
  sudo svr lab impair --path all --loss 5%
  sudo svr lab impair --path 1 --flap 2s       down now, up in 2 s, down in 4 s, ...
  sudo svr lab impair --path 1 --clear`;

const DEMO_HELP = `
Steps: svr lab up --conductor (r1 and r2 enrolled by one-time tokens); svr conductor show routers (both
synchronized); from <p>-client: GET http://198.18.3.20/, a 10 MiB download whose sha256 is checked
against the server's X-Sha256 header, a UDP echo ("hello"), 5 s of iperf3 (TCP); at the conductor a
commit that removes the web service (the page is denied) and svr config rollback 1 (the page is back);
both routers' session tables (svr show sessions); svr lab down (unless --keep). A summary at the end;
exit status 1 when a step failed (the lab is still torn down). About 40 s.

Examples:
  sudo svr lab demo
  sudo svr lab demo --keep        leave the lab up afterwards to look around`;

const DOWN_HELP = `
Stops the lab's processes (nodes and link emulators with SIGTERM, then SIGKILL after 5 s; a recorded
pid is only signalled while its command line is still the lab's), then anything else running inside
the lab's namespaces, then deletes the namespaces by exact name (<p>-client, <p>-r1, <p>-r2, <p>-server,
<p>-link1..<p>-link${MAX_PATHS}, <p>-internet, <p>-fn), which removes the veths and the TUN devices. Works
after a node crashed or was killed, and when nothing is there (exit 0). Logs stay in <dir>.

Examples:
  sudo svr lab down
  sudo svr lab down --prefix svrt --dir /tmp/svrt`;

function fail(cmd: string, e: unknown): void {
  if (!isSvrError(e)) throw e;
  process.stderr.write(`svr lab ${cmd}: ${e.message} [${e.code}]\n`);
  process.exitCode = 1;
}

/** The last progress line: where a signal stopped a long command. */
let lastStep = '';
const progress = (line: string): void => {
  lastStep = line;
  process.stdout.write(`${line}\n`);
};

/**
 * On SIGINT/SIGTERM during a long command: says so on stderr (coded, with the last step; a caller's time
 * limit, e.g. a test's, left exit 130 and an empty stderr before), tears the lab down, then exits 130.
 */
export function tearDownOnSignal(o: LabOptions, cmd: string, exit: (code: number) => void = (code) => process.exit(code)): () => void {
  const t0 = Date.now();
  const handler = (sig: NodeJS.Signals): void => {
    process.stdout.write(`\n${sig}: tearing the lab down\n`);
    const where = lastStep === '' ? 'before its first step' : `after the step "${lastStep}"`;
    process.stderr.write(`svr lab ${cmd}: interrupted by ${sig} after ${((Date.now() - t0) / 1000).toFixed(1)} s, ${where}; the lab is torn down (logs stay in ${o.dir}). `
      + `If a time limit of the caller sent it (a test, timeout(1)), allow more: \`svr lab ${cmd}\` bounds each process's start by its progress itself [SVR_ERR_LAB_INTERRUPTED]\n`);
    labDown({ dir: o.dir, prefix: o.prefix, progress }).finally(() => exit(130));
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
    .option('--prefix <prefix>', 'namespace prefix: <prefix>-client, <prefix>-r1, <prefix>-r2, <prefix>-server, <prefix>-link<k>', DEFAULT_PREFIX);
}

export function registerLab(program: Command): void {
  const lab = program
    .command('lab')
    .summary('the namespace lab: routers, a client and a server on this host: up, status, impair, nat-rebind, demo, down')
    .description('svrouter nodes (two by default, --routers N, --ha a router pair), a client and a server in network namespaces on this host, with SVR packets between the routers; in the two-router lab on one or more WAN paths, each through a link emulator (delay, jitter, loss, down) in its own namespace (docs/lab.md).')
    .addHelpText('after', GROUP_HELP);

  labOptions(lab.command('up').description('build the lab and start the link emulators, nodes and servers').addHelpText('after', UP_HELP))
    .option('--paths <n>', `WAN paths between r1 and r2, 1-${MAX_PATHS}, path 1 preferred`, '1')
    .option('--resiliency <mode>', `session-resiliency of web and stream: ${RESILIENCY_MODES.join('|')}`, 'failover')
    .option('--sla [mode]', `path-quality filter for web and stream (max-latency 250 ms): ${SLA_MODES.filter((m) => m !== 'off').join('|')} (default best-effort)`)
    .option('--bfd-interval <ms>', 'BFD interval of every path (detection after 3 missed packets)', '1000')
    .option('--hold-down <s>', 'seconds a path that came back must stay up before it is used again', '5')
    .option('--link-test-interval <s>', 'seconds between two link quality tests of a path', '10')
    .option('--seed <n>', 'seed of the link emulators\' loss and jitter draws', '1')
    .option('--workers <n>', 'data-path worker threads of each node (svr node start --workers)', '1')
    .option('--profile <name>', `${LAB_PROFILES.join('|')}: plugins adds the built-in plugins, an internet namespace behind r2 (source NAT), a second server (load balancing) and an external-function namespace for r1 (see below)`, 'basic')
    .option('--conductor', 'a conductor in its own namespace owns the config; the routers enrol by ZTP with one-time tokens (docs/conductor.md)')
    .option('--etcd <n>', 'with --conductor: high availability, n etcd members (1, 3 or 5) and two conductors sharing them')
    .option('--routers <n>', `the N-router lab: routers r1..rN (2-${MAX_ROUTERS}), each with a host behind it, on one shared WAN (see below)`)
    .option('--topology <t>', `with --routers: which routers peer, ${FABRIC_TOPOLOGIES.join('|')} (default mesh)`)
    .option('--plugin <path[=json]>', 'a plugin both routers load (its file or folder; options as JSON after =); repeat for more (docs/plugins.md, "Try it in the lab")', (v: string, all: string[]) => [...all, v], [] as string[])
    .option('--collector', 'an IPFIX collector (nfcapd) in <prefix>-collector at 198.18.9.10:4739; both routers export their session records to it (read them with nfdump -R <dir>/ipfix)')
    .option('--collector-rotate <s>', 'with --collector: seconds per nfcapd file (nfdump reads complete files), 2-3600', '60')
    .option('--bgp', 'a provider edge <prefix>-pe running FRR (AS 65100) as both routers\' BGP neighbour; r1 follows the route to its server 198.18.60.20, r2 announces the clients (docs/routing.md)')
    .option('--wan-mtu <bytes>', 'every WAN path carries at most this many bytes per packet (576-1700), with ICMP filtered on it: path MTU discovery finds it (docs/wan.md)')
    .option('--ipv6', 'IPv6 hosts (2001:2:1::10, 2001:2:3::20) and an IPv6 peer path wan6 over path 1; service web6 is http://[2001:2:3::20]/ (docs/wan.md)')
    .option('--middlebox', 'a stateful firewall <prefix>-middlebox (nftables, conntrack) on path 1 that drops mid-flow TCP and SYNs carrying data; implies --udp-transform auto-detect (docs/wan.md)')
    .option('--udp-transform <mode>', 'udp-transform mode of every path: auto-detect (the firewall detector probes every 10 s), always-transform, disabled; without it the config default: auto-detect every 300 s (docs/wan.md)')
    .option('--fec <group/parity>', 'FEC on web and stream: parity packets per group of data packets, e.g. 10/3 (docs/wan.md "FEC")')
    .option('--ha', 'r1 as a router pair: nodes r1a (active) and r1b (standby) in <prefix>-r1a/-r1b on bridged LAN and WAN segments in <prefix>-r1, a sync veth between them; the active node holds and announces r1\'s LAN and WAN addresses (docs/high-availability.md)')
    .option('--ha-wan <mode>', 'with --ha: shared (default: one WAN path, its address held by the active node) or per-node (each node its own WAN path, r1a path 1 and r1b path 2: r2 sees one peer r1 with a path to each node; docs/high-availability.md)')
    .option('--nat', 'r1 behind a NAT box (<prefix>-nat, nftables masquerade) on path 1: r1 peers outbound-only, r2 learns its address; the branch server 198.18.1.10 (service branch) lets the server side open sessions toward r1 (docs/wan.md)')
    .action(async (o: LabOptions & { bgp?: boolean; wanMtu?: string; ipv6?: boolean; nat?: boolean; middlebox?: boolean; udpTransform?: string; fec?: string; ha?: boolean; haWan?: string; paths: string; resiliency: string; sla?: string | boolean; bfdInterval: string; holdDown: string; linkTestInterval: string; seed: string; workers: string; profile: string; conductor?: boolean; etcd?: string; routers?: string; topology?: string; collector?: boolean; collectorRotate: string; plugin: string[] }) => {
      const untrap = tearDownOnSignal(o, 'up');
      try {
        const shape = checkShape({
          paths: o.paths, resiliency: o.resiliency, sla: o.sla, bfdIntervalMs: o.bfdInterval, holdDownS: o.holdDown, linkTestIntervalS: o.linkTestInterval, workers: o.workers, profile: o.profile,
          conductor: o.conductor === true, ...(o.etcd === undefined ? {} : { etcd: o.etcd }), ...(o.routers === undefined ? {} : { routers: o.routers }), ...(o.topology === undefined ? {} : { topology: o.topology }),
          collector: o.collector === true, collectorRotateS: o.collectorRotate, plugins: o.plugin, bgp: o.bgp === true, nat: o.nat === true, ipv6: o.ipv6 === true, ...(o.wanMtu !== undefined ? { wanMtu: o.wanMtu } : {}), ...(o.fec !== undefined ? { fec: o.fec } : {}),
          middlebox: o.middlebox === true, ...(o.udpTransform !== undefined ? { udpTransform: o.udpTransform } : {}), ha: o.ha === true, ...(o.haWan !== undefined ? { haWan: o.haWan } : {}),
        });
        const seed = parseCount(o.seed, '--seed', 0, 0xffffffff);
        await labUp({ dir: o.dir, prefix: o.prefix, progress, shape, seed });
      } catch (e) {
        fail('up', e);
      } finally {
        untrap();
      }
    });

  labOptions(lab.command('status').description('namespaces, interfaces, addresses, services, nodes, pids and the paths\' impairments'))
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

  labOptions(lab.command('impair').description('delay, jitter, loss, down/up or flapping per WAN path (the link emulators)').addHelpText('after', IMPAIR_HELP))
    .option('--path <k>', 'path number, a list (1,2) or all')
    .option('--delay <time>', 'one-way delay, e.g. 80ms')
    .option('--jitter <time>', 'delay varies uniformly by +- this, e.g. 10ms')
    .option('--loss <percent>', 'random loss, e.g. 2%')
    .option('--down', 'drop every packet')
    .option('--up', 'carry packets again (also stops --flap)')
    .option('--flap <period>', 'down/up every period, e.g. 2s, until --clear')
    .option('--clear', 'no impairment, no flap')
    .option('--direction <dir>', 'r1-r2 or r2-r1 (default both)')
    .option('--json', 'print the emulators\' status as JSON')
    .action(async (o: LabOptions & { path?: string; delay?: string; jitter?: string; loss?: string; down?: boolean; up?: boolean; flap?: string; clear?: boolean; direction?: string; json?: boolean }) => {
      try {
        const st = await labImpair(o.dir, o.prefix, o);
        process.stdout.write(o.json === true ? `${JSON.stringify(st, null, 2)}\n` : `${st.map((x) => renderEmulator(o.prefix, x)).join('\n')}\n`);
      } catch (e) {
        fail('impair', e);
      }
    });

  labOptions(lab.command('nat-rebind').description('with --nat: force a NAT rebinding (new masquerade port range, conntrack flushed)'))
    .addHelpText('after', '\nEvery flow through the NAT box gets a new public port on its next packet; r2 follows r1 within one BFD\ninterval and r1\'s sessions re-signal, those r2 opened too (docs/wan.md).\n\nExample:\n  sudo svr lab up --nat --bfd-interval 100\n  sudo ip netns exec svr-server curl -o /dev/null http://198.18.1.10/bytes/50000000 &\n  sudo svr lab nat-rebind\n  sudo svr show peers --node r2')
    .action(async (o: LabOptions) => {
      try {
        const r = await natRebind(o.prefix);
        progress(`NAT box ${o.prefix}-nat: masquerade ports ${r.from} -> ${r.to}, conntrack flushed`);
      } catch (e) {
        fail('nat-rebind', e);
      }
    });

  labOptions(lab.command('demo').description('up with a conductor, curl/UDP/iperf3 through the routers, a commit and a rollback, session tables, down'))
    .option('--keep', 'leave the lab up at the end')
    .addHelpText('after', DEMO_HELP)
    .action(async (o: LabOptions & { keep?: boolean }) => {
      const untrap = tearDownOnSignal(o, 'demo');
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
    .description('the lab server (run by `svr lab up` inside <prefix>-server): HTTP, a UDP echo and a UDP stream receiver')
    .option('--http <addr:port>', 'HTTP listen address, or off', `${SERVER}:${HTTP_PORT}`)
    .option('--udp <addr:port>', 'UDP echo listen address, or off', `${SERVER}:${ECHO_PORT}`)
    .option('--stream <addr:port>', 'UDP stream receiver listen address, or off', `${SERVER}:${STREAM_PORT}`)
    .option('--lab <name>', 'lab name shown on the page', DEFAULT_PREFIX)
    .addHelpText('after', `
HTTP:  /             a short page naming the lab
       /bytes/<n>    n deterministic pseudo-random bytes (same n, same bytes), streamed, with
                     Content-Length and X-Sha256 (their sha256, hex)
       /health       "ok"
       /stream-stats[/<id>]   what the stream receiver counted (JSON): per stream received, lost,
                     duplicates, reordered, one-way delay, longest gap
       Every response has X-Client-Address: the client address the server sees.
UDP:   every datagram to --udp is sent back to its sender; datagrams to --stream are counted.
One log line per request or echoed datagram, two per stream. Stops on SIGINT/SIGTERM.

Example (by hand, any namespace with the address):
  ip netns exec svr-server svr lab serve --http 198.18.3.20:8080 --udp 198.18.3.20:7007 --stream off`)
    .action(async (o: { http: string; udp: string; stream: string; lab: string }) => {
      const addr = (v: string, what: string): HostPort | undefined => {
        if (v === 'off') return undefined;
        const hp = parseHostPort(v);
        if (hp === undefined) throw new SvrError('SVR_ERR_LAB_OPTION', `expected ${what} as <address>:<port> or off, got ${v}`);
        return hp;
      };
      let s: Awaited<ReturnType<typeof startServers>>;
      const log = (line: string): void => void process.stdout.write(`${new Date().toISOString()} ${line}\n`);
      try {
        const http = addr(o.http, '--http');
        const udp = addr(o.udp, '--udp');
        const stream = addr(o.stream, '--stream');
        s = await startServers({ ...(http && { http }), ...(udp && { udp }), ...(stream && { stream }), lab: o.lab, log });
      } catch (e) {
        fail('serve', e);
        return;
      }
      log(`listening http ${o.http} udp ${o.udp} stream ${o.stream}`);
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
    .option('--interval <ms>', 'ping mode: send --count datagrams this far apart, count the replies that come (loss is not an error)')
    .option('--json', 'ping mode: print the summary as JSON')
    .addHelpText('after', `
Exit status 1 when a reply does not come (ping mode: when none comes).

Examples:
  ip netns exec svr-client svr lab udp-probe 198.18.3.20 7 hello --count 3
  ip netns exec svr-client svr lab udp-probe 198.18.3.20 7 ping --count 100 --interval 10     loss and rtt`)
    .action(async (host: string, port: string, message: string, o: { count: string; timeout: string; source?: string; interval?: string; json?: boolean }) => {
      try {
        if (o.interval !== undefined) {
          const r = await udpPing({
            host, port: Number(port), message, count: parseCount(o.count, '--count', 1, 1_000_000), intervalMs: parseDuration(o.interval, '--interval', 0, 60_000),
            timeoutMs: Number(o.timeout), ...(o.source === undefined ? {} : { source: o.source }),
          });
          process.stdout.write(o.json === true ? `${JSON.stringify(r)}\n`
            : `${r.sent} sent, ${r.received} received, ${r.lossPct}% lost, rtt min/avg/median/max ${r.rttMs.min}/${r.rttMs.avg}/${r.rttMs.median}/${r.rttMs.max} ms${r.unexpected > 0 ? `, ${r.unexpected} unexpected replies` : ''}\n`);
          if (r.received === 0) process.exitCode = 1;
          return;
        }
        const replies = await udpProbe({ host, port: Number(port), message, count: Number(o.count), timeoutMs: Number(o.timeout), ...(o.source === undefined ? {} : { source: o.source }) });
        for (const r of replies) process.stdout.write(`reply from ${r.from}: ${JSON.stringify(r.reply)} in ${r.rttMs.toFixed(1)} ms\n`);
      } catch (e) {
        fail('udp-probe', e);
      }
    });

  lab
    .command('send-stream')
    .description('send a continuous UDP stream with sequence numbers (the lab client for the stream service)')
    .option('--to <addr:port>', 'destination', `${SERVER}:${STREAM_PORT}`)
    .option('--rate <pps>', 'datagrams per second', '100')
    .option('--size <bytes>', 'UDP payload bytes (21-1400)', '200')
    .option('--duration <time>', 'how long, e.g. 10s; 0 = until Ctrl-C', '10s')
    .option('--id <n>', 'stream id (default random): the receiver counts per id')
    .option('--source <addr>', 'bind to this source address')
    .option('--json', 'print the start and end lines as JSON')
    .addHelpText('after', `
Prints one line when it starts (stream id and local address:port, which is the session's original
source) and one when it ends. The receiver (svr lab serve --stream) counts received, lost, duplicate
and reordered datagrams per stream: curl http://198.18.3.20/stream-stats (from the client namespace).

Examples:
  ip netns exec svr-client svr lab send-stream --rate 200 --duration 30s
  ip netns exec svr-client curl -s http://198.18.3.20/stream-stats`)
    .action(async (o: { to: string; rate: string; size: string; duration: string; id?: string; source?: string; json?: boolean }) => {
      try {
        const to = parseHostPort(o.to);
        if (to === undefined) throw new SvrError('SVR_ERR_LAB_OPTION', `--to ${JSON.stringify(o.to)}: expected <address>:<port>`);
        const rate = parseCount(o.rate, '--rate', 1, 100_000);
        const size = parseCount(o.size, '--size', 21, 1400);
        const durationMs = o.duration === '0' ? 0 : parseDuration(o.duration, '--duration', 1, 86_400_000);
        const s = await sendStream({
          host: to.host, port: to.port, rate, size, durationMs,
          ...(o.id === undefined ? {} : { id: parseCount(o.id, '--id', 1, 0xffffffff) }), ...(o.source === undefined ? {} : { source: o.source }),
        });
        const line = (obj: Record<string, unknown>, text: string): void => void process.stdout.write(o.json === true ? `${JSON.stringify(obj)}\n` : `${text}\n`);
        line({ event: 'start', id: s.id, local: s.local, to: o.to, rate, size, durationMs },
          `stream ${s.id} from ${s.local} to ${o.to}: ${rate} datagrams/s of ${size} bytes ${durationMs > 0 ? `for ${durationMs / 1000} s` : 'until Ctrl-C'}`);
        process.once('SIGINT', () => s.stop());
        process.once('SIGTERM', () => s.stop());
        const r = await s.done;
        line({ event: 'end', ...r }, `stream ${r.id}: sent ${r.sent} datagrams in ${(r.ms / 1000).toFixed(1)} s${r.sendErrors > 0 ? ` (${r.sendErrors} send errors)` : ''}`);
      } catch (e) {
        fail('send-stream', e);
      }
    });

  lab
    .command('emulate')
    .description('the link emulator of one WAN path (run by `svr lab up` inside <prefix>-link<k>)')
    .requiredOption('--path <k>', 'path number')
    .requiredOption('--socket <path>', 'control socket')
    .option('--seed <n>', 'seed of the loss and jitter draws', '1')
    .addHelpText('after', `
Creates the TUN devices emu-to-r2 and emu-to-r1 in the current namespace, routes tables 201 and 202
into them (where \`ip rule iif lk-r1/lk-r2\` steers arriving packets), and forwards every packet after
its delay unless it is lost or the link is down. Impairments come over the control socket; use
\`svr lab impair\`. One log line per change. Stops on SIGINT/SIGTERM.`)
    .action(async (o: { path: string; socket: string; seed: string }) => {
      const log = (line: string): void => void process.stdout.write(`${new Date().toISOString()} ${line}\n`);
      try {
        await runEmulator({ path: parseCount(o.path, '--path', 1, MAX_PATHS), socket: o.socket, seed: parseCount(o.seed, '--seed', 0, 0xffffffff), log });
      } catch (e) {
        fail('emulate', e);
        process.exit(1);
      }
    });
}
