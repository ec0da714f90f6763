/** `svr explain`: what a running node would do with a flow's first packet and why; or a recorded session then and now. */
import type { Command } from 'commander';
import type { Explanation } from '../control/explain.js';
import { isSvrError, SvrError } from '../errors.js';
import { request } from '../node/control-client.js';
import type { SessionExplanation } from '../node/explain-session.js';
import { renderTable } from '../util/text-table.js';
import { selectNodeSocket, type NodeSelector } from './node-select.js';

interface ExplainOptions extends NodeSelector {
  src?: string;
  dst?: string;
  proto?: string;
  port?: string;
  srcPort?: string;
  interface?: string;
  session?: string;
  json?: boolean;
}

const num = (v: number | undefined, digits: number): string => (v === undefined ? '-' : v.toFixed(digits));

/** The human form of an explanation. */
export function renderExplanation(e: Explanation): string {
  const p = e.packet;
  const ports = p.protocol === 'tcp' || p.protocol === 'udp';
  const lines = [`${e.router} (config generation ${e.generation}): the first ${p.protocol} packet ${p.src}${ports ? `:${p.srcPort}` : ''} -> ${p.dst}${ports ? `:${p.dstPort}` : ''} arriving on ${p.interface}`];
  lines.push(renderTable(['STEP', 'RESULT', 'WHY'], e.steps.map((s) => [s.step, s.result, s.why])));
  if (e.candidates.length > 0) {
    lines.push('candidate paths:');
    lines.push(renderTable(['PATH', 'PEER', 'USABLE', 'BFD', 'VECTOR', 'COST', 'LATENCY MS', 'JITTER MS', 'LOSS %', 'MOS', 'RANK', 'WHY'], e.candidates.map((c) => [
      `${c.chosen ? '* ' : ''}${c.path}`, c.peer, c.usable ? 'yes' : 'no', c.bfd ?? '-', c.vector, c.cost, num(c.latencyMs, 1), num(c.jitterMs, 1), num(c.lossPercent, 2), num(c.mos, 2), c.rank ?? '-', c.why,
    ])));
  }
  lines.push(verdictLine(e));
  return lines.join('\n');
}

function verdictLine(e: Explanation): string {
  switch (e.verdict) {
    case 'forward': return `verdict: forward to ${e.peer} over ${e.path} (tenant ${e.tenant}, service ${e.service}); a session opens${e.chain.length > 0 ? ` through ${e.chain.join(', ')}` : ''}`;
    case 'deliver': return `verdict: deliver locally (${e.route}); a session opens${e.chain.length > 0 ? ` through ${e.chain.join(', ')}` : ''}`;
    case 'reset': return `verdict: dropped with a TCP reset back, counted as ${e.counter}`;
    case 'drop': return `verdict: dropped, counted as ${e.counter} (svr show stats)`;
  }
}

function renderSession(s: SessionExplanation): string {
  return [...s.story, ...(s.now !== undefined ? ['', renderExplanation(s.now)] : [])].join('\n');
}

function optionPort(text: string | undefined, option: string): number | undefined {
  if (text === undefined) return undefined;
  if (!/^\d+$/.test(text) || Number(text) > 65535) throw new SvrError('SVR_ERR_EXPLAIN_QUERY', `${option} ${JSON.stringify(text)}: expected a port 0-65535`, { parameter: option });
  return Number(text);
}

export function registerExplain(program: Command): void {
  program
    .command('explain')
    .summary('what a running node would do with a flow\'s first packet, and why')
    .description('Ask a running node what it would do now with the first packet of a flow: tenant and the rule that chose it, '
      + 'service and its FIB entry, the access-policy rule, the service-route and peer, the path with every candidate\'s quality '
      + 'and why the others lost, NAT and the plugin chain. The node answers with its data path\'s own lookups. '
      + 'With --session ID: a recorded session (svr inspect sessions), what happened then and what the node would do now.')
    .option('--src <address>', 'the client\'s address')
    .option('--dst <address>', 'the server\'s address')
    .option('--proto <protocol>', 'tcp, udp, icmp (icmpv6) or a protocol number', 'tcp')
    .option('--port <n>', 'destination port (tcp, udp)')
    .option('--src-port <n>', 'source port (default 49152)')
    .option('--interface <name>', 'the LAN interface it arrives on (default: the one routing the source)')
    .option('--session <id>', 'explain a recorded session instead (its id from svr inspect sessions)')
    .option('--json', 'print JSON')
    .option('--node <name>', 'the node to ask')
    .option('--socket <path>', 'the node control socket')
    .option('--run-dir <dir>', 'where nodes register')
    .addHelpText('after', `
Examples:
  svr explain --node r1 --src 198.18.1.10 --dst 198.18.3.20 --proto tcp --port 80
  svr explain --node r1 --src 198.18.5.10 --dst 198.18.3.20 --proto udp --port 7     # in no tenant: dropped
  svr explain --node r1 --session 6f1c2a9e-4b7d-4c21-9a3e-0d1b2c3d4e5f`)
    .action(async (o: ExplainOptions) => {
      try {
        const socket = selectNodeSocket(o);
        if (o.session !== undefined) {
          const s = await request(socket, { method: 'explain', sessionId: o.session }) as SessionExplanation;
          process.stdout.write((o.json ? JSON.stringify(s, null, 2) : renderSession(s)) + '\n');
          return;
        }
        if (o.src === undefined || o.dst === undefined) throw new SvrError('SVR_ERR_EXPLAIN_QUERY', 'pass --src and --dst (and --proto, --port), or --session ID', { parameter: o.src === undefined ? 'src' : 'dst' });
        const port = optionPort(o.port, '--port');
        const srcPort = optionPort(o.srcPort, '--src-port');
        const query = { src: o.src, dst: o.dst, protocol: o.proto ?? 'tcp', ...(port !== undefined ? { port } : {}), ...(srcPort !== undefined ? { srcPort } : {}), ...(o.interface !== undefined ? { interface: o.interface } : {}) };
        const e = await request(socket, { method: 'explain', query }) as Explanation;
        process.stdout.write((o.json ? JSON.stringify(e, null, 2) : renderExplanation(e)) + '\n');
      } catch (e) {
        if (!isSvrError(e)) throw e;
        process.stderr.write(`svr explain: ${e.message}\n`);
        process.exitCode = 1;
      }
    });
}
