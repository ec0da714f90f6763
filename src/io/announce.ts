/**
 * Announcing an address this host just took (a router pair's shared addresses, node/ha-addresses.ts): the
 * device's MAC from ip(8), then the frame of packet/announce.ts out of the device through the addon's
 * AF_PACKET sender (native/packet-socket.c). Control side: a few frames per role change.
 */
import { SvrError } from '../errors.js';
import { tryLoadAddon } from '../native/addon.js';
import { announcementFrame, parseMac } from '../packet/announce.js';
import { parseAddress } from '../packet/addr.js';
import { runIp } from './tun/link.js';

type PacketSend = (ifname: string, frame: Uint8Array) => void;

function packetSend(): PacketSend {
  const mod = tryLoadAddon();
  if (mod instanceof Error) throw mod;
  const fn = mod['packetSend'];
  if (typeof fn !== 'function') throw new SvrError('SVR_ERR_NATIVE_MISSING', 'the native addon has no packetSend (built before native/packet-socket.c): rebuild it with npm ci / npm run build:native');
  return fn as PacketSend;
}

/** The MAC of `dev` (`ip -j link show dev DEV`). */
export async function hardwareAddress(dev: string): Promise<Uint8Array> {
  const links = JSON.parse(await runIp(['-j', 'link', 'show', 'dev', dev])) as { address?: string }[];
  const mac = parseMac(links[0]?.address ?? '');
  if (mac === undefined) throw new SvrError('SVR_ERR_HA_ADDRESS', `device ${dev} has no Ethernet address (${links[0]?.address ?? 'none'}): shared addresses need an Ethernet device (a veth, a NIC, a bridge port)`);
  return mac;
}

/** Sends `count` announcements of `address` (no prefix length) out of `dev`, `gapMs` apart; `mac`: the device's, if known. */
export async function announceAddress(dev: string, address: string, count = 1, gapMs = 0, mac?: Uint8Array): Promise<void> {
  const parsed = parseAddress(address);
  if (parsed === undefined) throw new SvrError('SVR_ERR_HA_ADDRESS', `announce ${address} on ${dev}: not an IPv4 or IPv6 address`);
  const frame = announcementFrame(mac ?? await hardwareAddress(dev), parsed);
  const send = packetSend();
  for (let i = 0; i < count; i++) {
    if (i > 0 && gapMs > 0) await new Promise((r) => setTimeout(r, gapMs));
    try {
      send(dev, frame);
    } catch (e) {
      throw new SvrError('SVR_ERR_HA_ADDRESS', `announcing ${address} out of ${dev} failed: ${e instanceof Error ? e.message : String(e)}`);
    }
  }
}
