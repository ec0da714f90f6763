/** Constants and payloads shared by test/support/tun-echo.ts (in the namespace) and the TUN tests. */
export const TUN_NAME = 'svrt0';
/** The TUN's own address (198.18.250.1/30); 198.18.251.0/24 is routed into the TUN. */
export const LOCAL_ADDR = '198.18.250.1';
export const REMOTE_ADDR = '198.18.251.2';
export const SRC_PORT = 40000;
export const DST_PORT = 40001;

/** Payload of datagram i: 'SVRT', u32 sequence, then filler; 16..1015 bytes. */
export function payloadFor(i: number): Buffer {
  const len = 16 + ((i * 53) % 1000);
  const b = Buffer.alloc(len, i & 0xff);
  b.write('SVRT', 0, 'latin1');
  b.writeUInt32BE(i, 4);
  return b;
}
