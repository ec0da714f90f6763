/*
 * wan-rx-ring.h: a WAN queue's SVR packets taken off the host's Ethernet devices by an AF_PACKET receive ring
 * (native/wan-rx-ring.c) instead of the kernel's forward into the TUN and a TUN read. Used by native/tun.c's reader.
 */
#ifndef SVR_WAN_RX_RING_H
#define SVR_WAN_RX_RING_H

#include <stdint.h>

/* Devices one ring set takes from at most (a socket and ring each). */
#define SVR_RX_RING_DEVS 4
/* The longest packet a ring frame holds: longer ones are left to the kernel (the filter and the nft rule agree). */
#define SVR_RX_RING_MAX_LEN 1952u

typedef struct svr_rx_ring {
  int n;                       /* sockets */
  int fd[SVR_RX_RING_DEVS];
  uint8_t *map[SVR_RX_RING_DEVS];
  uint32_t head[SVR_RX_RING_DEVS]; /* next frame to look at, per ring */
  int first;                   /* the ring a take starts with, turned by one each take: a busy device cannot keep
                                  another's packets (a path's BFD) waiting behind its own */
  int wait_fd;                 /* readable when a ring holds a packet: the socket, or an epoll of them */
  uint64_t taken;              /* packets copied into batches (the reader thread or the JS thread: one reads at a time) */
} svr_rx_ring;

/* Opens a ring on each device (ifindexes) for IPv4 packets to waypoint (a.b.c.d as a << 24 | b << 16 | c << 8 | d) with a TTL > 1, for this
 * host, no longer than SVR_RX_RING_MAX_LEN. Every socket gets every such packet: one ring set per WAN device (a
 * single-queue TUN). Returns 0, or an errno (the sockets opened are closed). */
int svr_rx_ring_open(svr_rx_ring *r, const uint32_t *ifindexes, int n, uint32_t waypoint);
void svr_rx_ring_close(svr_rx_ring *r);

/* Copies the packets the rings hold into slots n, n + 1, ... < max of base (slot i at base + i * snap, lengths in
 * lens), TTL - 1 and a partial checksum completed as the forwarding into the TUN gives them; longer than snap:
 * dropped and counted in *truncated. Returns the new slot count. */
uint32_t svr_rx_ring_take(svr_rx_ring *r, uint8_t *base, uint32_t snap, uint32_t *lens, uint32_t n, uint32_t max,
                          uint32_t *truncated);

#endif
