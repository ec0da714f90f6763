/*
 * link-send.h: a raw send's packets to a next hop on an Ethernet link as frames through an AF_PACKET socket, with
 * the route and the neighbour's link address read once a second per destination (native/link-send.c); the frames
 * written into the socket's TX ring and sent with one send(2) a batch.
 */
#ifndef SVR_LINK_SEND_H
#define SVR_LINK_SEND_H

#include <stdint.h>

/* Destinations kept per sender (a queue's end hosts or WAN peers). */
#define SVR_LINK_DESTS 64
/* The TX ring: frames of SVR_LINK_FRAME bytes (a 32-byte tpacket2_hdr, a virtio-net header, the Ethernet header,
 * the packet: IPv4 packets of up to 1,992 bytes); a bigger one goes through the socket without a ring. */
#define SVR_LINK_RING_FRAMES 256
#define SVR_LINK_FRAME 2048

typedef struct svr_link_dest {
  uint32_t addr;        /* IPv4 destination, network order; 0: free */
  int ifindex;          /* 0: no Ethernet next hop known: raw IP send */
  uint32_t mtu;         /* the device's */
  uint64_t read_ns;     /* when the route and neighbour were read (CLOCK_MONOTONIC) */
  uint8_t eth[14];      /* the frame's header: the next hop's address, the device's, IPv4 */
} svr_link_dest;

typedef struct svr_link {
  int pfd;              /* AF_PACKET socket (send only), -1: off */
  int rfd;              /* AF_PACKET socket with the TX ring (send only), -1: none (frames through pfd) */
  uint8_t *ring;        /* its frames, mmap'ed */
  uint32_t ring_head;   /* the frame the next send starts at: the kernel's head of the ring too */
  uint64_t ring_tx;     /* frames sent from the ring */
  int nl;               /* NETLINK_ROUTE socket for the reads */
  uint32_t seq;
  int filtered;         /* the namespace has IPv4 netfilter tables: raw IP sends only (their hooks would be skipped) */
  uint64_t nf_read_ns;  /* when that was read */
  svr_link_dest dest[SVR_LINK_DESTS];
} svr_link;

/* Opens the sockets unless SVR_LINK_SEND=0 or without the rights (then l->pfd is -1 and every packet is a raw IP
 * send, as before). */
void svr_link_open(svr_link *l);
void svr_link_close(svr_link *l);

/* The destination entry of IPv4 packet p (n bytes) when it goes out as a frame, else NULL (a raw IP send). The first
 * packet to a destination each second reads its route and neighbour again and goes as a raw IP send, so the kernel's
 * neighbour entry keeps its state machine (a stale entry is probed, a failed one dropped). A frame the socket refuses
 * (a device down or gone) clears the entry's ifindex until its next read. */
svr_link_dest *svr_link_pick(svr_link *l, const uint8_t *p, uint32_t n, uint64_t now_ns);

/* Whether a packet of n bytes fits a frame of the TX ring (a ring is set up). */
int svr_link_ring_fits(const svr_link *l, uint32_t n);

/* Frame k after the ring's head: d's Ethernet header and a copy of packet p (n bytes, fitting). Returns the copy's IP
 * header (the caller finishes it: TTL, checksum), or NULL while the kernel still holds the frame (the ring is full). */
uint8_t *svr_link_ring_fill(svr_link *l, uint32_t k, const svr_link_dest *d, const uint8_t *p, uint32_t n);

/* Sends frames [0, n) after the head (filled) out of ifindex with one send(2). Returns the frames sent (the head
 * moves past them); *err is 0 when all were, else the errno of the send or 0 when it sent some and stopped at a frame
 * (send again: it starts there, and answers with that frame's error). The frames not sent are free again. */
uint32_t svr_link_ring_send(svr_link *l, int ifindex, uint32_t n, int *err);

#endif
