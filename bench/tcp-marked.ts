/**
 * The TCP side of the wire check: one connection that writes `--bytes` of a repeated 16-byte marker to the
 * TCP sink (servers.ts --tcp-sink), half-closes and waits for the sink's byte count. Run in the client
 * namespace; prints {"sent":N,"received":N} (received: what the sink counted, -1 when it never answered).
 *   node dist/bench/tcp-marked.js --host 198.18.3.2 --port 5202 --marker <32 hex digits> --bytes 65536
 */
import { connect } from 'node:net';

function arg(name: string): string {
  const i = process.argv.indexOf(`--${name}`);
  const v = i >= 0 ? process.argv[i + 1] : undefined;
  if (v === undefined) throw new Error(`--${name} is required`);
  return v;
}

const marker = Buffer.from(arg('marker'), 'hex');
const bytes = Number(arg('bytes'));
const stream = Buffer.alloc(bytes);
for (let o = 0; o < bytes; o += marker.length) marker.copy(stream, o);
let answer = '';
const sock = connect({ host: arg('host'), port: Number(arg('port')) }, () => sock.end(stream));
const done = (received: number) => {
  process.stdout.write(JSON.stringify({ sent: bytes, received }) + '\n');
  process.exit(0);
};
sock.setEncoding('utf8');
sock.on('data', (s: string) => (answer += s));
sock.on('end', () => done(Number(answer.trim() || -1)));
sock.on('error', () => done(-1));
setTimeout(() => done(-1), 10_000).unref();
