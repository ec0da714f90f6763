/**
 * End to end with the WAN receive off the ingress (SVR_WAN_PACKET_RX=1, src/node/wan-packet-rx.ts): `svr lab up`
 * with the switch in the nodes' environment, then downloads (TCP) and UDP sessions through both routers. Every
 * transfer must be intact (sha256), and r1's ingress rule must have carried the download's SVR packets (its nft
 * counter), so they reached r1's WAN TUN without the kernel's forwarding. Needs root and ip/curl/iperf3/nft
 * (test/support/prerequisites.ts); otherwise its tests count as skipped. `svr lab down` runs in the after hook.
 */
import * as assert from 'uvu/assert';
import { bytesSha256 } from '../../src/lab/servers.js';
import { labFixture, E2E_PREFIX, exec, inNs, show, svr, SVR, LAB_UP_MS } from './support.js';
import { requires } from '../support/prerequisites.js';

const PREFIX = `${E2E_PREFIX}x`;
const CLIENT_NS = `${PREFIX}-client`;
const SERVER = '198.18.3.20';
const SIZE = 8 * 1024 * 1024;

const test = requires(import.meta.url);

const { env, labArgs, downSync } = labFixture(test, PREFIX, 'wanrx', { SVR_WAN_PACKET_RX: '1' });

test.after(() => {
  downSync();
  // e2eDir removes the directory when every test passed (kept with the logs otherwise)
});

/** Packets r's ingress rule for svr-wan0 has carried (0 without the table). */
async function carried(r: string): Promise<number> {
  const t = await exec('ip', ['netns', 'exec', `${PREFIX}-${r}`, 'nft', 'list', 'table', 'netdev', 'svr_rx_svr_wan0']);
  return [...t.stdout.matchAll(/counter packets (\d+)/g)].reduce((n, m) => n + Number(m[1]), 0);
}

test('svr lab up with SVR_WAN_PACKET_RX=1: downloads and UDP sessions intact, the WAN receive through the ingress rule', async () => {
  const up = await svr(['lab', 'up', ...labArgs], env, LAB_UP_MS);
  assert.is(up.code, 0, show(up));
  const before = await carried('r1');
  const want = await bytesSha256(SIZE);
  for (let i = 0; i < 3; i++) {
    const r = await exec('sh', ['-c', `ip netns exec ${CLIENT_NS} curl -sS -m 60 http://${SERVER}/bytes/${SIZE} | sha256sum`], { timeoutMs: 70_000 });
    assert.is(r.code, 0, show(r));
    assert.is(r.stdout.split(' ')[0], want, `download ${i + 1} intact`);
  }
  for (let i = 0; i < 8; i++) {
    const r = await inNs(CLIENT_NS, process.execPath, [SVR, 'lab', 'udp-probe', SERVER, '7'], 20_000);
    assert.is(r.code, 0, show(r));
  }
  const r1 = await carried('r1');
  // 3 x 8 MiB down: ~18,000 SVR packets reached r1's WAN TUN through the rule (a UDP GSO super-packet of up to 64 counts once)
  assert.ok(r1 - before >= (3 * SIZE) / 1500 / 64, `r1's ingress rule carried ${r1 - before} packets`);
  assert.ok((await carried('r2')) > 0, 'r2 too');
  const down = await svr(['lab', 'down', ...labArgs], env, 60_000);
  assert.is(down.code, 0, show(down));
});

test.run();
