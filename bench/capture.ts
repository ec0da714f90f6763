/**
 * Is the payload encrypted on the wire? Sends datagrams carrying a random marker through the echo and
 * captures on r1's side of the r1-r2 veth; the marker in the capture means the payload crossed in clear.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { sleep, spawnIn, stop, waitForLine } from './exec.js';
import { ping } from './measure.js';
import type { EncryptionCheck } from './results.js';
import { DEV, NS } from './topology.js';

export async function checkEncryption(dir: string, name: string): Promise<EncryptionCheck> {
  const marker = randomBytes(16);
  const file = join(dir, `${name}-wan.pcap`);
  const p = spawnIn(NS.r1, `tcpdump-${name}`, 'tcpdump', ['-ni', DEV.r1Wan, '--immediate-mode', '-Z', 'root', '-U', '-s', '0', '-w', file, 'udp'], join(dir, `${name}-tcpdump.log`));
  await waitForLine(p, /listening on/, 10_000);
  await ping(5, 0, ['--marker', marker.toString('hex')], 1000);
  await sleep(1000);
  await stop(p, 3000, 'SIGINT');
  const pcap = readFileSync(file);
  const packets = Number(/(\d+) packets? captured/.exec(readFileSync(p.log, 'utf8'))?.[1] ?? NaN);
  return { payloadSeenInClear: pcap.includes(marker), packetsCaptured: packets };
}
