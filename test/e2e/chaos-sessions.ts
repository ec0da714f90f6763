/**
 * Heavy session setup for the chaos suite: `node chaos-sessions.js HOST PORT SECONDS RATE` (run inside the
 * client namespace) opens RATE UDP sessions a second for SECONDS: each its own socket (a new source port, so
 * a new session on the router), one datagram, closed on the echo's answer or after 1 s. Prints
 * {"attempted":n,"answered":n} when done or on SIGTERM.
 */
import { createSocket } from 'node:dgram';

const [host, portText, secondsText, rateText] = process.argv.slice(2);
const port = Number(portText);
const seconds = Number(secondsText);
const rate = Number(rateText);
if (host === undefined || !(port > 0) || !(seconds > 0) || !(rate > 0)) {
  console.error('usage: chaos-sessions HOST PORT SECONDS RATE');
  process.exit(2);
}

let attempted = 0;
let answered = 0;
const TICK_MS = 10;
const perTick = Math.max(1, Math.round((rate * TICK_MS) / 1000));
const payload = Buffer.from('chaos');

function open(): void {
  const s = createSocket('udp4');
  attempted++;
  const timer = setTimeout(() => s.close(), 1000);
  s.on('message', () => {
    answered++;
    clearTimeout(timer);
    s.close();
  });
  s.on('error', () => {
    clearTimeout(timer);
    s.close();
  });
  s.send(payload, port, host);
}

const done = (): void => {
  console.log(JSON.stringify({ attempted, answered }));
  process.exit(0);
};

const tick = setInterval(() => {
  for (let i = 0; i < perTick; i++) open();
}, TICK_MS);
process.once('SIGTERM', done);
setTimeout(() => {
  clearInterval(tick);
  setTimeout(done, 1100);
}, seconds * 1000);
