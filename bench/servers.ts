/**
 * The benchmark's servers, run inside the server namespace:
 *   --echo ADDR:PORT          UDP echo (the ping)
 *   --echo-range ADDR:A-B     UDP echo on every port A..B (the UDP session-rate test: one session per client socket x port)
 *   --tcp-close ADDR:PORT     TCP: on each connection write one byte and close (the TCP session-rate test)
 *   --tcp-sink ADDR:PORT      TCP: read each connection to its end, answer with the byte count and close (the TCP wire check)
 * Prints "ready" once everything is bound.
 */
import { createSocket } from 'node:dgram';
import { createServer } from 'node:net';

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

function echo(host: string, port: number): Promise<void> {
  const s = createSocket({ type: 'udp4', recvBufferSize: 4 << 20, sendBufferSize: 4 << 20 });
  s.on('message', (msg, rinfo) => s.send(msg, rinfo.port, rinfo.address));
  s.on('error', (e) => process.stderr.write(`echo ${port}: ${e.message}\n`));
  return new Promise((r) => s.bind(port, host, () => r()));
}

async function main(): Promise<void> {
  const e = arg('echo');
  if (e !== undefined) {
    const [h, p] = e.split(':');
    await echo(h!, Number(p));
  }
  const range = arg('echo-range');
  if (range !== undefined) {
    const [h, ports] = range.split(':');
    const [a, b] = ports!.split('-').map(Number);
    for (let p = a!; p <= b!; p++) await echo(h!, p);
  }
  const tc = arg('tcp-close');
  if (tc !== undefined) {
    const [h, p] = tc.split(':');
    const srv = createServer((c) => {
      c.on('error', () => undefined);
      c.end('x');
    });
    srv.on('error', (err) => process.stderr.write(`tcp: ${err.message}\n`));
    await new Promise<void>((r) => srv.listen({ host: h!, port: Number(p), backlog: 4096 }, () => r()));
  }
  const sink = arg('tcp-sink');
  if (sink !== undefined) {
    const [h, p] = sink.split(':');
    const srv = createServer((c) => {
      let n = 0;
      c.on('data', (b: Buffer) => (n += b.length));
      c.on('end', () => c.end(`${n}\n`));
      c.on('error', () => undefined);
    });
    srv.on('error', (err) => process.stderr.write(`tcp sink: ${err.message}\n`));
    await new Promise<void>((r) => srv.listen({ host: h!, port: Number(p) }, () => r()));
  }
  process.stdout.write('ready\n');
}

main().catch((err: unknown) => {
  process.stderr.write(`servers: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exitCode = 1;
});
