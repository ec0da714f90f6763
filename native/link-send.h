/*
 * link-send.h: a raw send's packets to a next hop on an Ethernet link as frames through an AF_PACKET socket, with
 * the route and the neighbour's link address read once a second per destination (native/link-send.c).
 */
#ifndef SVR_LINK_SEND_H
#define SVR_LINK_SEND_H

#include <stdint.h>

/* Destinations kept per sender (a queue's end hosts or WAN peers). */
#define SVR_LINK_DESTS 64

typedef struct svr_link_dest {
  uint32_t addr;        /* IPv4 destination, network order; 0: free */
  int ifindex;          /* 0: no Ethernet next hop known: raw IP send */
  uint32_t mtu;         /* the device's */
  uint64_t read_ns;     /* when the route and neighbour were read (CLOCK_MONOTONIC) */
  uint8_t eth[14];      /* the frame's header: the next hop's address, the device's, IPv4 */
} svr_link_dest;

typedef struct svr_link {
  int pfd;              /* AF_PACKET socket (send only), -1: off */
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

#endif
