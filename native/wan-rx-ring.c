/*
 * wan-rx-ring.c: the WAN receive through an AF_PACKET receive ring (docs/tun-io.md "The WAN receive from a packet
 * ring").
 *
 * Flow: a frame arrives on an Ethernet device -> the packet taps (before the ingress hook): this socket's classic
 * BPF filter (IPv4, for this host, daddr = the waypoint, TTL > 1, length <= SVR_RX_RING_MAX_LEN) -> tpacket_rcv
 * copies it into the next TPACKET_V2 frame of the mmap'ed ring (a wake-up only for a waiter) -> the nftables netdev
 * ingress rule with the same match drops the skb (src/node/wan-packet-rx.ts), so the kernel does not route it too
 * -> the node's TUN reader (native/tun.c) copies the frames into its batch slots with TTL - 1 (RFC 1812 §5.3.1, as
 * the forwarding would) and hands them back to the kernel: no system call per packet, no route, forward, TUN queue
 * or TUN read.
 */
#include "wan-rx-ring.h"
#include "svr_native.h"

#include <errno.h>
#include <linux/filter.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#define FRAME_SIZE 2048u
#define FRAMES 1024u

#ifndef PACKET_IGNORE_OUTGOING
#define PACKET_IGNORE_OUTGOING 23
#endif

/* The filter: the packets the nft rule of wan-packet-rx.ts drops, nothing else (offsets from the IP header:
 * SOCK_DGRAM). */
static int attach_filter(int fd, uint32_t waypoint) {
  struct sock_filter code[] = {
      BPF_STMT(BPF_LD | BPF_H | BPF_ABS, SKF_AD_OFF + SKF_AD_PROTOCOL),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, ETH_P_IP, 0, 9),
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, SKF_AD_OFF + SKF_AD_PKTTYPE),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, PACKET_HOST, 0, 7),
      BPF_STMT(BPF_LD | BPF_W | BPF_LEN, 0),
      BPF_JUMP(BPF_JMP | BPF_JGT | BPF_K, SVR_RX_RING_MAX_LEN, 5, 0),
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, 16),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, waypoint, 0, 3),
      BPF_STMT(BPF_LD | BPF_B | BPF_ABS, 8),
      BPF_JUMP(BPF_JMP | BPF_JGT | BPF_K, 1, 0, 1),
      BPF_STMT(BPF_RET | BPF_K, 0xffff),
      BPF_STMT(BPF_RET | BPF_K, 0),
  };
  struct sock_fprog prog = {.len = sizeof code / sizeof code[0], .filter = code};
  return setsockopt(fd, SOL_SOCKET, SO_ATTACH_FILTER, &prog, sizeof prog);
}

static int open_one(svr_rx_ring *r, int i, uint32_t ifindex, uint32_t waypoint) {
  /* no protocol until the filter is on: a socket bound to ETH_P_ALL takes every frame from its bind */
  int fd = socket(AF_PACKET, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) return errno;
  r->fd[i] = fd;
  int v2 = TPACKET_V2, one = 1;
  struct tpacket_req req = {.tp_block_size = FRAME_SIZE * 32, .tp_block_nr = FRAMES / 32, .tp_frame_size = FRAME_SIZE,
                            .tp_frame_nr = FRAMES};
  struct sockaddr_ll ll = {.sll_family = AF_PACKET, .sll_protocol = htons(ETH_P_ALL), .sll_ifindex = (int)ifindex};
  if (attach_filter(fd, waypoint) != 0 || setsockopt(fd, SOL_PACKET, PACKET_VERSION, &v2, sizeof v2) != 0 ||
      setsockopt(fd, SOL_PACKET, PACKET_IGNORE_OUTGOING, &one, sizeof one) != 0 ||
      setsockopt(fd, SOL_PACKET, PACKET_RX_RING, &req, sizeof req) != 0)
    return errno;
  void *m = mmap(NULL, (size_t)FRAME_SIZE * FRAMES, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (m == MAP_FAILED) return errno;
  r->map[i] = m;
  if (bind(fd, (struct sockaddr *)&ll, sizeof ll) != 0) return errno;
  return 0;
}

int svr_rx_ring_open(svr_rx_ring *r, const uint32_t *ifindexes, int n, uint32_t waypoint) {
  memset(r, 0, sizeof *r);
  r->wait_fd = -1;
  for (int i = 0; i < SVR_RX_RING_DEVS; i++) r->fd[i] = -1;
  if (n < 1 || n > SVR_RX_RING_DEVS) return EINVAL;
  for (int i = 0; i < n; i++) {
    r->n = i + 1;
    int e = open_one(r, i, ifindexes[i], waypoint);
    if (e != 0) {
      svr_rx_ring_close(r);
      return e;
    }
  }
  if (n == 1) {
    r->wait_fd = r->fd[0];
    return 0;
  }
  r->wait_fd = epoll_create1(EPOLL_CLOEXEC);
  for (int i = 0; r->wait_fd >= 0 && i < n; i++) {
    struct epoll_event ev = {.events = EPOLLIN};
    if (epoll_ctl(r->wait_fd, EPOLL_CTL_ADD, r->fd[i], &ev) != 0) break;
    if (i == n - 1) return 0;
  }
  int e = errno;
  svr_rx_ring_close(r);
  return e;
}

void svr_rx_ring_close(svr_rx_ring *r) {
  if (r->wait_fd >= 0 && r->n > 1) close(r->wait_fd);
  r->wait_fd = -1;
  for (int i = 0; i < r->n; i++) {
    if (r->map[i] != NULL) munmap(r->map[i], (size_t)FRAME_SIZE * FRAMES);
    if (r->fd[i] >= 0) close(r->fd[i]);
    r->map[i] = NULL;
    r->fd[i] = -1;
  }
  r->n = 0;
}

/* The partial L4 checksum of an IPv4 TCP or UDP packet (TP_STATUS_CSUMNOTREADY: its field holds the pseudo-header
 * sum), completed as a device would. Returns 0, or -1 when it is neither (dropped: the TUN's reader would have
 * had csum_start). */
static int complete_csum(uint8_t *p, uint32_t len) {
  uint32_t ihl = (uint32_t)(p[0] & 15) * 4;
  uint32_t at = p[9] == IPPROTO_TCP ? 16 : p[9] == IPPROTO_UDP ? 6 : 0;
  if (at == 0 || ihl < 20 || ihl + at + 2 > len) return -1;
  uint16_t s = (uint16_t)~svr_ones_sum_be(p + ihl, len - ihl);
  if (s == 0 && p[9] == IPPROTO_UDP) s = 0xffff;
  p[ihl + at] = (uint8_t)(s >> 8);
  p[ihl + at + 1] = (uint8_t)s;
  return 0;
}

uint32_t svr_rx_ring_take(svr_rx_ring *r, uint8_t *base, uint32_t snap, uint32_t *lens, uint32_t n, uint32_t max,
                          uint32_t *truncated) {
  int from = r->first;
  if (r->n > 1) r->first = (from + 1) % r->n;
  for (int k = 0; k < r->n && n < max; k++) {
    int i = (from + k) % r->n;
    uint32_t h = r->head[i];
    while (n < max) {
      struct tpacket2_hdr *t = (struct tpacket2_hdr *)(r->map[i] + (size_t)h * FRAME_SIZE);
      uint32_t st = __atomic_load_n(&t->tp_status, __ATOMIC_ACQUIRE);
      if (!(st & TP_STATUS_USER)) break;
      uint32_t len = t->tp_snaplen;
      const uint8_t *p = (const uint8_t *)t + t->tp_net;
      if (len > snap || len != t->tp_len) {
        (*truncated)++;
      } else {
        uint8_t *d = base + (size_t)n * snap;
        memcpy(d, p, len);
        /* TTL - 1 with the header checksum updated as ip_decrease_ttl does (the filter took TTL > 1 only) */
        d[8]--;
        uint32_t c = ((uint32_t)d[10] << 8 | d[11]) + 0x0100;
        c += c >= 0xffff;
        d[10] = (uint8_t)(c >> 8);
        d[11] = (uint8_t)c;
        if (!(st & TP_STATUS_CSUMNOTREADY) || complete_csum(d, len) == 0) {
          lens[n++] = len;
          r->taken++;
        }
      }
      __atomic_store_n(&t->tp_status, TP_STATUS_KERNEL, __ATOMIC_RELEASE);
      h = (h + 1) % FRAMES;
    }
    r->head[i] = h;
  }
  return n;
}
