/*
 * wan-raw.c: SVR packets out of a WAN queue through a raw IP socket instead of a TUN write.
 *
 * Flow (docs/tun-io.md "Raw sends on the WAN")
 *   writer (tun-write.c) -> svr_raw_eligible per packet -> svr_raw_send: TTL - 1 (what the kernel's forwarding of the
 *   TUN write would do, RFC 1812 §5.3.1), in place in the writer thread's ring (one iovec a packet; put back on the
 *   packets not sent), on a copy of the header for direct writes (the caller's buffer stays as it was)
 *   -> one sendmmsg(2) for up to 64 packets -> the kernel's
 *   output route and the device, skipping the TUN write's input route, source check and forward (wave 16's
 *   profile: ~30 % of r1's wan writer thread). IP_HDRINCL keeps every byte but the header checksum, which the
 *   kernel recomputes over the same header. An id of 0 it keeps only with DF set (raw_send_hdrinc ->
 *   ip_select_ident with no socket: a DF datagram's id stays 0, RFC 6864 §4.1 atomic datagrams), else it would
 *   draw a fresh one, so those stay with the TUN. The router's own control packets (BFD, link tests, STEP:
 *   Dataplane.originate) are DF with id 0: through here, no input route and forward per packet (hub14).
 *   A packet to a next hop on an Ethernet link goes as a frame instead (link-send.c: no output route either),
 *   copied into the packet socket's TX ring with its TTL lowered there, one send(2) a run of them.
 */
#include "wan-raw.h"
#include "offload.h"

#include <errno.h>
#include <linux/if_ether.h>
#include <string.h>
#include <time.h>

int svr_raw_open(void) {
  int fd = socket(AF_INET, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_RAW);
  if (fd < 0) return -1;
  int sz = 4 << 20;
  if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &sz, sizeof sz) != 0) {
    (void)setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sz, sizeof sz); /* without CAP_NET_ADMIN: up to wmem_max */
  }
  return fd;
}

int svr_raw_eligible(const uint8_t *p, uint32_t n) {
  if (n < 20 || (p[0] >> 4) != 4) return 0;
  uint32_t ihl = (uint32_t)(p[0] & 15) * 4;
  if (ihl < 20 || ihl > n) return 0;
  if (((uint32_t)p[2] << 8 | p[3]) != n) return 0;
  if (p[4] == 0 && p[5] == 0 && (p[6] & 0x40) == 0) return 0; /* id 0 without DF: the kernel would replace it */
  /* multicast: a TUN write's input route delivers it locally and forwards it only with a multicast router; a raw
   * send would route it out as the host's own (a LAN queue's end hosts get such packets too) */
  if ((p[16] & 0xf0) == 0xe0) return 0;
  return p[8] > 1;
}

/* How a packet goes: runs of one path (and for ring frames one device) share a system call. */
enum { PATH_IP, PATH_FRAME, PATH_RING };

/* Lowers the TTL of the header at h by one and updates its checksum as ip_decrease_ttl does. */
static void lower_ttl(uint8_t *h) {
  h[8]--;
  uint32_t c = ((uint32_t)h[10] << 8 | h[11]) + 0x0100;
  c += c >= 0xffff;
  h[10] = (uint8_t)(c >> 8);
  h[11] = (uint8_t)c;
}

/* Message k for packet p of n bytes: a frame to b->dest[k] (its Ethernet header first) or a raw IP send to p's
 * destination. in_place: the TTL lowered in p itself (its bytes 8-11 saved first), the packet one iovec (sendmmsg
 * copies and checks each: ~3 % of a send, wave 23 sus16); else in a copy of its header, the rest in place. */
static void set_message(svr_raw_batch *b, uint32_t k, uint8_t *p, uint32_t n, int in_place) {
  uint32_t ihl = (uint32_t)(p[0] & 15) * 4;
  uint8_t *h = p;
  if (in_place) {
    memcpy(b->saved[k], p + 8, 4);
  } else {
    h = b->hdr[k];
    memcpy(h, p, ihl);
  }
  lower_ttl(h);
  struct iovec *v = &b->iov[3 * k];
  struct msghdr *m = &b->msg[k].msg_hdr;
  memset(&b->msg[k], 0, sizeof b->msg[k]);
  svr_link_dest *d = b->dest[k];
  if (d != NULL) {
    svr_fill_ipv4_checksum(h); /* the raw socket's kernel recomputes it (ip_send_check); a frame carries its own */
    *v++ = (struct iovec){.iov_base = d->eth, .iov_len = sizeof d->eth};
    b->ll[k] = (struct sockaddr_ll){.sll_family = AF_PACKET, .sll_protocol = htons(ETH_P_IP), .sll_ifindex = d->ifindex};
    m->msg_name = &b->ll[k];
    m->msg_namelen = sizeof b->ll[k];
  } else {
    b->to[k] = (struct sockaddr_in){.sin_family = AF_INET};
    memcpy(&b->to[k].sin_addr, p + 16, 4);
    m->msg_name = &b->to[k];
    m->msg_namelen = sizeof b->to[k];
  }
  if (in_place) {
    v[0] = (struct iovec){.iov_base = p, .iov_len = n};
  } else {
    v[0] = (struct iovec){.iov_base = h, .iov_len = ihl};
    v[1] = (struct iovec){.iov_base = p + ihl, .iov_len = n - ihl};
  }
  m->msg_iov = &b->iov[3 * k];
  m->msg_iovlen = (size_t)(v - m->msg_iov) + (in_place ? 1 : 2);
}

/* Ring frames for packets [i + k0, i + k0 + m) (one device): copied into the TX ring, their TTL lowered and header
 * checksum filled there (the packet in data stays as it was), one send(2). Returns the frames sent (*err as
 * svr_link_ring_send), 0 with *err 0 when the kernel still holds the ring's next frame. */
static uint32_t ring_sends(svr_raw_batch *b, const uint8_t *data, const uint32_t *off, uint32_t i, const uint32_t *len,
                           uint32_t k0, uint32_t m, int *err) {
  uint32_t f = 0;
  for (; f < m; f++) {
    uint8_t *h = svr_link_ring_fill(&b->link, f, b->dest[k0 + f], data + off[i + k0 + f], len[i + k0 + f]);
    if (h == NULL) break;
    lower_ttl(h);
    svr_fill_ipv4_checksum(h);
  }
  *err = 0;
  if (f == 0) return 0;
  return svr_link_ring_send(&b->link, b->dest[k0]->ifindex, f, err);
}

uint32_t svr_raw_send(int fd, svr_raw_batch *b, const uint8_t *data, const uint32_t *off, const uint32_t *len, uint32_t i,
                      uint32_t n, int in_place, int *err) {
  if (n > SVR_RAW_BATCH) n = SVR_RAW_BATCH;
  uint64_t now = 0;
  if (b->link.pfd >= 0) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    now = (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
  }
  for (uint32_t k = 0; k < n; k++) {
    uint8_t *p = (uint8_t *)data + off[i + k]; /* written only in_place: the writer's own ring */
    svr_link_dest *d = b->link.pfd >= 0 ? svr_link_pick(&b->link, p, len[i + k], now) : NULL;
    b->dest[k] = d;
    b->path[k] = d == NULL ? PATH_IP : svr_link_ring_fits(&b->link, len[i + k]) ? PATH_RING : PATH_FRAME;
    if (b->path[k] != PATH_RING) set_message(b, k, p, len[i + k], in_place); /* a ring frame is a copy: made at its send */
  }
  /* runs of one path, each one system call, in ring order */
  uint32_t sent = 0;
  *err = 0;
  while (sent < n) {
    const uint8_t path = b->path[sent];
    uint32_t end = sent + 1;
    while (end < n && b->path[end] == path && (path != PATH_RING || b->dest[end]->ifindex == b->dest[sent]->ifindex)) end++;
    int e = 0, sock = path == PATH_IP ? fd : path == PATH_FRAME ? b->link.pfd : b->link.rfd;
    uint32_t done;
    if (path == PATH_RING) {
      done = ring_sends(b, data, off, i, len, sent, end - sent, &e);
      if (done == 0 && e == 0) { /* the ring's next frame still held (a queue, a NIC): these through sendmmsg */
        for (uint32_t k = sent; k < end; k++) {
          b->path[k] = PATH_FRAME;
          set_message(b, k, (uint8_t *)data + off[i + k], len[i + k], in_place);
        }
        continue;
      }
    } else {
      int r = sendmmsg(sock, b->msg + sent, end - sent, 0);
      done = r > 0 ? (uint32_t)r : 0;
      e = r < 0 ? errno : r == 0 ? EIO : 0;
    }
    if (done > 0 || e == EINTR) { /* after a ring run that stopped, the next send answers for the frame it stopped at */
      sent += done;
      continue;
    }
    *err = e;
    b->busy_fd = sock;
    if (path != PATH_IP && e != EAGAIN) b->dest[sent]->ifindex = 0; /* the device down or gone: raw IP sends till the next read */
    break;
  }
  /* what was not sent is sent again or written to the TUN later: its TTL and checksum as they were */
  if (in_place)
    for (uint32_t k = sent; k < n; k++)
      if (b->path[k] != PATH_RING) memcpy((uint8_t *)data + off[i + k] + 8, b->saved[k], 4);
  return sent;
}
