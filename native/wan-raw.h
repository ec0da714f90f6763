/*
 * wan-raw.h: a WAN queue's single IPv4 packets sent through a raw IP socket (sendmmsg) instead of a TUN write that
 * the kernel forwards (native/wan-raw.c; the writer of native/tun-write.c uses it with SVR_WRITER_RAW).
 */
#ifndef SVR_WAN_RAW_H
#define SVR_WAN_RAW_H

#include <linux/if_packet.h>
#include <netinet/in.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include "link-send.h"

/* Packets per sendmmsg. */
#define SVR_RAW_BATCH 64

/* One sender's sendmmsg messages: each packet whole with its TTL lowered in place (saved: its bytes 8-11 before), or
 * its IP header copied (its TTL lowered) and the rest of it in place; a frame's Ethernet header first (link-send.h).
 * One per thread that sends. */
typedef struct svr_raw_batch {
  struct mmsghdr msg[SVR_RAW_BATCH];
  struct iovec iov[3 * SVR_RAW_BATCH];
  struct sockaddr_in to[SVR_RAW_BATCH];
  struct sockaddr_ll ll[SVR_RAW_BATCH];
  svr_link_dest *dest[SVR_RAW_BATCH];
  uint8_t path[SVR_RAW_BATCH];  /* how packet k goes (wan-raw.c: a raw IP send, a frame, a frame from the TX ring) */
  uint8_t hdr[SVR_RAW_BATCH][60];
  uint8_t saved[SVR_RAW_BATCH][4];
  int busy_fd;          /* the socket that answered EAGAIN (svr_raw_send) */
  svr_link link;        /* svr_link_open'ed by the owner */
} svr_raw_batch;

/* A non-blocking IPPROTO_RAW socket (IP_HDRINCL, send only) with a deep send buffer, or -1 with errno set. */
int svr_raw_open(void);

/* Whether the raw socket puts packet p (n bytes) on the wire with the bytes the kernel's forwarding of a TUN write
 * would: IPv4, its header complete, total length n, an IP id the kernel keeps (not 0, or 0 with DF set), a TTL it may lower (> 1),
 * not multicast. */
int svr_raw_eligible(const uint8_t *p, uint32_t n);

/* Sends packets [i, i + n) of data/off/len (each eligible) in order, as the kernel would forward them (TTL - 1):
 * to a next hop on an Ethernet link as frames (b->link: from its TX ring when they fit), else through fd. in_place: data is writable and read by
 * nobody during the call (the writer thread's ring): the TTL is lowered there, and put back on the packets not sent.
 * Returns the packets sent; *err is 0 when all were, else the errno of the next one (EAGAIN: b->busy_fd is full). */
uint32_t svr_raw_send(int fd, svr_raw_batch *b, const uint8_t *data, const uint32_t *off, const uint32_t *len, uint32_t i,
                      uint32_t n, int in_place, int *err);

#endif
