/**
 * Real components for the telemetry tests, on loopback: nfcapd (IPFIX collector, Debian nfdump), nfdump,
 * tcpdump and tshark. Each is started in the test's own temp folder and stopped by its pid.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { mkdirSync } from 'node:fs';
import { createServer } from 'node:net';
import { exec, show } from './support.js';

/** A port free on 127.0.0.1 just now (UDP or TCP). */
export async function freePort(kind: 'udp' | 'tcp'): Promise<number> {
  if (kind === 'udp') {
    const s = createSocket('udp4');
    await new Promise<void>((r) => s.bind(0, '127.0.0.1', () => r()));
    const port = s.address().port;
    await new Promise<void>((r) => s.close(() => r()));
    return port;
  }
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
  const addr = srv.address();
  await new Promise<void>((r) => srv.close(() => r()));
  return typeof addr === 'object' && addr !== null ? addr.port : 0;
}

interface Started {
  child: ChildProcess;
  output(): string;
  /** signal by pid, wait for exit; the output so far */
  stop(signal?: NodeJS.Signals): Promise<string>;
}

/** Spawns `cmd` and resolves once its output (stdout or stderr) contains `ready`. */
async function startUntil(cmd: string, args: readonly string[], ready: string, timeoutMs = 10_000): Promise<Started> {
  const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  const exited = new Promise<void>((r) => child.once('close', () => r()));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${cmd} did not get ready within ${timeoutMs} ms: ${out}`)), timeoutMs);
    const onData = (d: Buffer): void => {
      out += d.toString('utf8');
      if (out.includes(ready)) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('close', (code) => {
      clearTimeout(timer);
      reject(new Error(`${cmd} exited ${code} before it was ready: ${out}`));
    });
  });
  return {
    child,
    output: () => out,
    stop: async (signal = 'SIGTERM') => {
      if (child.exitCode === null && child.signalCode === null) process.kill(child.pid!, signal);
      const t = setTimeout(() => child.exitCode === null && child.signalCode === null && process.kill(child.pid!, 'SIGKILL'), 5000);
      await exited;
      clearTimeout(t);
      return out;
    },
  };
}

/** nfcapd on 127.0.0.1:port (or `at` an address of a network namespace) writing into dir (stop() makes it write its file and print its stats). */
export function startNfcapd(dir: string, port: number, at?: { ns: string; address: string }): Promise<Started> {
  mkdirSync(dir, { recursive: true });
  const args = ['-w', dir, '-p', String(port), '-b', at?.address ?? '127.0.0.1', '-t', '60'];
  return at === undefined ? startUntil('nfcapd', args, 'Startup nfcapd') : startUntil('ip', ['netns', 'exec', at.ns, 'nfcapd', ...args], 'Startup nfcapd');
}

/** tcpdump on lo (or `dev`) for `filter` into file (stop() with SIGINT flushes it). */
export function captureLoopback(file: string, filter: string, dev = 'lo'): Promise<Started> {
  return startUntil('tcpdump', ['-i', dev, '-B', '32768', '-w', file, '-U', '--immediate-mode', '-n', '-Z', 'root', filter], 'listening on');
}

/** The flows nfdump reads from an nfcapd folder, as its JSON output. */
export async function nfdumpFlows(dir: string): Promise<NfdumpFlow[]> {
  const r = await exec('nfdump', ['-R', dir, '-o', 'json']);
  if (r.code !== 0) throw new Error(`nfdump failed: ${show(r)}`);
  const text = r.stdout.trim();
  return text === '' ? [] : JSON.parse(text) as NfdumpFlow[];
}

/** The fields of nfdump's JSON flow output that the tests read. */
export interface NfdumpFlow {
  first: string;
  last: string;
  in_packets: number;
  in_bytes: number;
  proto: number;
  src_port: number;
  dst_port: number;
  src4_addr?: string;
  dst4_addr?: string;
  src6_addr?: string;
  dst6_addr?: string;
  input_snmp?: number;
  output_snmp?: number;
  src4_xlt_ip?: string;
  dst4_xlt_ip?: string;
  src6_xlt_ip?: string;
  dst6_xlt_ip?: string;
  src_xlt_port?: string;
  dst_xlt_port?: string;
  /** the exporter's address */
  ip4_router?: string;
}

/** What tshark's IPFIX (cflow) dissector made of a capture. */
export interface TsharkIpfix {
  /** template ids announced in template sets */
  templates: number[];
  /** each message in order: observation domain id, sequence number, data records in it (the padding template's not counted) */
  headers: { domain: number; sequence: number; flows: number }[];
  flows: TsharkFlow[];
  /** records of the padding template (260: paddingOctets) */
  padding: number;
}

export interface TsharkFlow {
  /** standard fields by tshark's name (cflow.srcaddr, cflow.octets, ...): the shown value */
  fields: Record<string, string>;
  /** PEN 45956 elements by number: the value as UTF-8 text (strings) and hex */
  pen: Record<number, { text: string; hex: string }>;
}

/** Decodes a capture with tshark (PDML, whose values are never abbreviated), the IPFIX port as cflow. */
export async function tsharkIpfix(file: string, proto: 'udp' | 'tcp', port: number): Promise<TsharkIpfix> {
  const r = await exec('tshark', ['-r', file, '-n', '-d', `${proto}.port==${port},cflow`, '-T', 'pdml']);
  if (r.code !== 0) throw new Error(`tshark failed: ${show(r)}`);
  const out: TsharkIpfix = { templates: [], headers: [], flows: [], padding: 0 };
  let flow: TsharkFlow | undefined;
  let setId = 0;
  for (const line of r.stdout.split('\n')) {
    const name = /<field name="([^"]*)"/.exec(line)?.[1];
    if (name === undefined) continue;
    const showValue = /show="([^"]*)"/.exec(line)?.[1] ?? '';
    // header order (RFC 7011 §3.1): version, length, export time, sequence number, observation domain id
    if (name === 'cflow.sequence') out.headers.push({ domain: -1, sequence: Number(showValue), flows: 0 });
    else if (name === 'cflow.od_id' && out.headers.length > 0) out.headers[out.headers.length - 1]!.domain = Number(showValue);
    else if (name === 'cflow.template_id') out.templates.push(Number(showValue));
    else if (name === 'cflow.flowset_id') setId = parseInt(/value="([0-9a-f]*)"/.exec(line)?.[1] ?? '0', 16);
    else if (name === '' && /^Flow \d+$/.test(showValue) && setId === 260) {
      out.padding++;
      flow = undefined;
    } else if (name === '' && /^Flow \d+$/.test(showValue)) {
      flow = { fields: {}, pen: {} };
      out.flows.push(flow);
      const h = out.headers[out.headers.length - 1];
      if (h !== undefined) h.flows++;
    } else if (flow !== undefined && name === 'cflow.enterprise_private_entry') {
      const type = Number(/Type (\d+):/.exec(line)?.[1]);
      const hex = /value="([0-9a-f]*)"/.exec(line)?.[1] ?? '';
      flow.pen[type] = { hex, text: Buffer.from(hex, 'hex').toString('utf8') };
    } else if (flow !== undefined && name.startsWith('cflow.')) {
      flow.fields[name] = showValue;
    }
  }
  return out;
}
