/*
 * link-send.c: where a raw send's destination is a next hop on an Ethernet link, and the socket that sends it there.
 *
 * Flow (docs/tun-io.md "Frames to a next hop on the link")
 *   svr_raw_send (wan-raw.c) -> svr_link_pick per packet -> the destination's entry, read at most once a second:
 *   RTM_GETROUTE (the output route the raw send would take: its device and gateway), RTM_GETNEIGH (the next hop's
 *   link address, any NUD_VALID state, as the kernel's neighbour output uses it), the device's address and MTU ->
 *   a frame through an AF_PACKET socket: dev_queue_xmit, no output route. With IP_HDRINCL the kernel routes with
 *   FLOWI_FLAG_KNOWN_NH and caches no route to a next hop on the link (__mkroute_output): each raw send to an end
 *   host or a WAN peer on a connected subnet allocated a route and freed it through RCU (sus15: ~7 % of the writers).
 * What the frame skips besides the route: the netfilter OUTPUT and POSTROUTING hooks, so while the namespace has
 * any IPv4 netfilter table (iptables, nftables ip/inet; read once a second) every packet stays a raw IP send.
 * The frames go through a TX ring (packet(7) PACKET_TX_RING, TPACKET_V2): the sender copies each into a frame and
 * one send(2) hands the batch to tpacket_snd, which takes them in ring order: no msghdr, address and iovec is
 * imported and checked per frame, and no copy from user memory (tcp14: ~23 % of r1's WAN writer thread in TCP as
 * TCP were those, the copy with its hardened-usercopy check 13 %). The virtio-net header's hdr_len covers the whole frame, so the kernel copies it into the
 * skb's linear part (from its own mapping of the ring) instead of attaching the ring's pages, which a veth
 * (dev_forward_skb -> skb_orphan_frags) would copy again into new pages.
 */
#include "link-send.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <linux/neighbour.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/virtio_net.h>
#include <net/if.h>
#include <net/if_arp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#define READ_EVERY_NS 1000000000ull
#define PROBES 8
/* linux/netfilter.h's families (that header's linux/in.h clashes with netinet/in.h) */
#define SVR_NFPROTO_INET 1
#define SVR_NFPROTO_IPV4 2
/* the kernel's NUD_VALID (include/net/neighbour.h): the states its neighbour output sends with the known address */
#define NUD_VALID (NUD_PERMANENT | NUD_NOARP | NUD_REACHABLE | NUD_PROBE | NUD_STALE | NUD_DELAY)

typedef struct nlreq {
  struct nlmsghdr nh;
  union {
    struct rtmsg rt;
    struct ndmsg nd;
    struct nfgenmsg nf;
  } u;
  uint8_t attrs[16];
} nlreq;

/* Where a frame's data starts (tpacket_parse_header: TPACKET2_HDRLEN less the sockaddr_ll), and the bytes before
 * the packet in it: the virtio-net header and the Ethernet header. */
#define FRAME_DATA (TPACKET2_HDRLEN - sizeof(struct sockaddr_ll))
#define FRAME_LEAD (sizeof(struct virtio_net_hdr) + 14)
#define RING_BLOCK 16384

static struct tpacket2_hdr *ring_frame(const svr_link *l, uint32_t k) {
  return (struct tpacket2_hdr *)(l->ring + (size_t)((l->ring_head + k) % SVR_LINK_RING_FRAMES) * SVR_LINK_FRAME);
}

/* The socket with the TX ring; without it (an old kernel, no memory) frames go through pfd alone. */
static void open_ring(svr_link *l) {
  int fd = socket(AF_PACKET, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  int version = TPACKET_V2, one = 1, sz = 4 << 20;
  struct tpacket_req req = {.tp_block_size = RING_BLOCK,
                            .tp_block_nr = SVR_LINK_RING_FRAMES * SVR_LINK_FRAME / RING_BLOCK,
                            .tp_frame_size = SVR_LINK_FRAME,
                            .tp_frame_nr = SVR_LINK_RING_FRAMES};
  void *m = MAP_FAILED;
  if (fd >= 0 && setsockopt(fd, SOL_PACKET, PACKET_VERSION, &version, sizeof version) == 0 &&
      setsockopt(fd, SOL_PACKET, PACKET_VNET_HDR, &one, sizeof one) == 0 &&
      setsockopt(fd, SOL_PACKET, PACKET_TX_RING, &req, sizeof req) == 0)
    m = mmap(NULL, (size_t)SVR_LINK_RING_FRAMES * SVR_LINK_FRAME, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (m == MAP_FAILED) {
    if (fd >= 0) close(fd);
    return;
  }
  if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &sz, sizeof sz) != 0)
    (void)setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sz, sizeof sz);
  l->rfd = fd;
  l->ring = m;
}

int svr_link_ring_fits(const svr_link *l, uint32_t n) {
  return l->ring != NULL && FRAME_DATA + FRAME_LEAD + n <= SVR_LINK_FRAME;
}

uint8_t *svr_link_ring_fill(svr_link *l, uint32_t k, const svr_link_dest *d, const uint8_t *p, uint32_t n) {
  struct tpacket2_hdr *h = ring_frame(l, k);
  if (__atomic_load_n(&h->tp_status, __ATOMIC_ACQUIRE) != TP_STATUS_AVAILABLE) return NULL; /* still sending */
  uint8_t *f = (uint8_t *)h + FRAME_DATA;
  /* no GSO, no checksum to fill; hdr_len: the bytes tpacket_snd copies into the linear part (all of them) */
  struct virtio_net_hdr v = {.gso_type = VIRTIO_NET_HDR_GSO_NONE, .hdr_len = (uint16_t)(14 + n)};
  memcpy(f, &v, sizeof v);
  memcpy(f + sizeof v, d->eth, 14);
  memcpy(f + FRAME_LEAD, p, n);
  h->tp_len = (uint32_t)FRAME_LEAD + n;
  return f + FRAME_LEAD;
}

uint32_t svr_link_ring_send(svr_link *l, int ifindex, uint32_t n, int *err) {
  for (uint32_t k = 0; k < n; k++) __atomic_store_n(&ring_frame(l, k)->tp_status, TP_STATUS_SEND_REQUEST, __ATOMIC_RELEASE);
  struct sockaddr_ll to = {.sll_family = AF_PACKET, .sll_protocol = htons(ETH_P_IP), .sll_ifindex = ifindex};
  ssize_t r = sendto(l->rfd, NULL, 0, 0, (const struct sockaddr *)&to, sizeof to);
  *err = r < 0 ? errno : 0;
  /* tpacket_snd took the frames in order from the head and stopped at the first it could not send (its status
   * still a request, or WRONG_FORMAT), leaving its head there: the sent ones are SENDING or AVAILABLE again */
  uint32_t sent = 0;
  while (sent < n) {
    uint32_t st = __atomic_load_n(&ring_frame(l, sent)->tp_status, __ATOMIC_ACQUIRE);
    if (st == TP_STATUS_SEND_REQUEST || st == TP_STATUS_WRONG_FORMAT) break;
    sent++;
  }
  for (uint32_t k = sent; k < n; k++) __atomic_store_n(&ring_frame(l, k)->tp_status, TP_STATUS_AVAILABLE, __ATOMIC_RELAXED);
  l->ring_head = (l->ring_head + sent) % SVR_LINK_RING_FRAMES;
  l->ring_tx += sent;
  if (sent == 0 && *err == 0) *err = EIO;
  return sent;
}

void svr_link_open(svr_link *l) {
  memset(l, 0, sizeof *l);
  l->pfd = -1;
  l->rfd = -1;
  l->nl = -1;
  const char *e = getenv("SVR_LINK_SEND");
  if (e != NULL && strcmp(e, "0") == 0) return;
  l->nl = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
  /* protocol 0: send only, the socket receives nothing */
  l->pfd = l->nl < 0 ? -1 : socket(AF_PACKET, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (l->pfd < 0) {
    svr_link_close(l);
    return;
  }
  int sz = 4 << 20;
  if (setsockopt(l->pfd, SOL_SOCKET, SO_SNDBUFFORCE, &sz, sizeof sz) != 0)
    (void)setsockopt(l->pfd, SOL_SOCKET, SO_SNDBUF, &sz, sizeof sz);
  open_ring(l);
}

void svr_link_close(svr_link *l) {
  if (l->ring != NULL) munmap(l->ring, (size_t)SVR_LINK_RING_FRAMES * SVR_LINK_FRAME);
  if (l->rfd >= 0) close(l->rfd);
  l->ring = NULL;
  l->rfd = -1;
  if (l->pfd >= 0) close(l->pfd);
  if (l->nl >= 0) close(l->nl);
  l->pfd = -1;
  l->nl = -1;
}

static void put_attr(nlreq *q, uint16_t type, const void *v, uint16_t len) {
  struct rtattr *a = (struct rtattr *)((uint8_t *)q + NLMSG_ALIGN(q->nh.nlmsg_len));
  a->rta_type = type;
  a->rta_len = (uint16_t)RTA_LENGTH(len);
  memcpy(RTA_DATA(a), v, len);
  q->nh.nlmsg_len = NLMSG_ALIGN(q->nh.nlmsg_len) + RTA_ALIGN(a->rta_len);
}

/* A request of type with a body of body bytes (q->u), numbered for its answer. */
static void request(svr_link *l, nlreq *q, uint16_t type, uint32_t body) {
  memset(q, 0, sizeof *q);
  q->nh.nlmsg_len = NLMSG_LENGTH(body);
  q->nh.nlmsg_type = type;
  q->nh.nlmsg_flags = NLM_F_REQUEST;
  q->nh.nlmsg_seq = ++l->seq;
}

/* One request, its one answer into buf; returns the answer, or NULL (an error answer, or none). */
static struct nlmsghdr *ask(int fd, nlreq *q, uint8_t *buf, size_t cap) {
  if (send(fd, q, q->nh.nlmsg_len, 0) < 0) return NULL;
  for (;;) {
    ssize_t r = recv(fd, buf, cap, 0);
    if (r < 0 && errno == EINTR) continue;
    if (r < (ssize_t)sizeof(struct nlmsghdr)) return NULL;
    struct nlmsghdr *h = (struct nlmsghdr *)buf;
    if (h->nlmsg_seq != q->nh.nlmsg_seq) continue; /* a late answer to an earlier request */
    return h->nlmsg_type == NLMSG_ERROR || !NLMSG_OK(h, (uint32_t)r) ? NULL : h;
  }
}

/* The output route to addr: its device and next hop (the gateway, else addr itself). 0, or -1: no unicast route. */
static int read_route(svr_link *l, uint32_t addr, int *ifindex, uint32_t *hop) {
  nlreq q;
  uint8_t buf[1024];
  request(l, &q, RTM_GETROUTE, sizeof q.u.rt);
  q.u.rt.rtm_family = AF_INET;
  q.u.rt.rtm_dst_len = 32;
  put_attr(&q, RTA_DST, &addr, 4);
  struct nlmsghdr *h = ask(l->nl, &q, buf, sizeof buf);
  if (h == NULL || h->nlmsg_type != RTM_NEWROUTE) return -1;
  struct rtmsg *rt = NLMSG_DATA(h);
  if (rt->rtm_type != RTN_UNICAST) return -1;
  *ifindex = 0;
  *hop = addr;
  int len = (int)RTM_PAYLOAD(h);
  for (struct rtattr *a = RTM_RTA(rt); RTA_OK(a, len); a = RTA_NEXT(a, len)) {
    if (a->rta_type == RTA_OIF && RTA_PAYLOAD(a) == 4) memcpy(ifindex, RTA_DATA(a), 4);
    else if (a->rta_type == RTA_GATEWAY && RTA_PAYLOAD(a) == 4) memcpy(hop, RTA_DATA(a), 4);
    else if (a->rta_type == RTA_VIA) return -1; /* an IPv6 next hop: left to the kernel */
  }
  return *ifindex > 0 ? 0 : -1;
}

/* The next hop's link address on ifindex when its neighbour entry has one (NUD_VALID). */
static int read_neigh(svr_link *l, int ifindex, uint32_t hop, uint8_t mac[6]) {
  nlreq q;
  uint8_t buf[512];
  request(l, &q, RTM_GETNEIGH, sizeof q.u.nd);
  q.u.nd.ndm_family = AF_INET;
  q.u.nd.ndm_ifindex = ifindex;
  put_attr(&q, NDA_DST, &hop, 4);
  struct nlmsghdr *h = ask(l->nl, &q, buf, sizeof buf);
  if (h == NULL || h->nlmsg_type != RTM_NEWNEIGH) return -1;
  struct ndmsg *nd = NLMSG_DATA(h);
  if ((nd->ndm_state & NUD_VALID) == 0) return -1;
  int len = (int)(h->nlmsg_len - NLMSG_LENGTH(sizeof *nd));
  for (struct rtattr *a = (struct rtattr *)((uint8_t *)nd + NLMSG_ALIGN(sizeof *nd)); RTA_OK(a, len); a = RTA_NEXT(a, len)) {
    if (a->rta_type == NDA_LLADDR && RTA_PAYLOAD(a) == 6) {
      memcpy(mac, RTA_DATA(a), 6);
      return 0;
    }
  }
  return -1;
}

/* An Ethernet device's address and MTU. */
static int read_device(svr_link *l, int ifindex, uint8_t mac[6], uint32_t *mtu) {
  struct ifreq r;
  memset(&r, 0, sizeof r);
  r.ifr_ifindex = ifindex;
  if (ioctl(l->pfd, SIOCGIFNAME, &r) != 0) return -1;
  if (ioctl(l->pfd, SIOCGIFHWADDR, &r) != 0 || r.ifr_hwaddr.sa_family != ARPHRD_ETHER) return -1;
  memcpy(mac, r.ifr_hwaddr.sa_data, 6);
  if (ioctl(l->pfd, SIOCGIFMTU, &r) != 0 || r.ifr_mtu <= 0) return -1;
  *mtu = (uint32_t)r.ifr_mtu;
  return 0;
}

/* Whether the namespace has an IPv4 netfilter table whose hooks a frame would skip: iptables-legacy's tables
 * (/proc/net/ip_tables_names), nftables' ip and inet tables. Unknown (no CAP_NET_ADMIN for the dump) counts as yes. */
static int read_filtered(void) {
  int fd = open("/proc/net/ip_tables_names", O_RDONLY | O_CLOEXEC);
  if (fd >= 0) {
    char c;
    ssize_t r = read(fd, &c, 1);
    close(fd);
    if (r != 0) return 1;
  }
  int nf = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_NETFILTER);
  if (nf < 0) return errno != EPROTONOSUPPORT;
  nlreq q;
  memset(&q, 0, sizeof q);
  q.nh.nlmsg_len = NLMSG_LENGTH(sizeof q.u.nf);
  q.nh.nlmsg_type = (NFNL_SUBSYS_NFTABLES << 8) | NFT_MSG_GETTABLE;
  q.nh.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
  q.nh.nlmsg_seq = 1;
  q.u.nf.nfgen_family = AF_UNSPEC;
  q.u.nf.version = NFNETLINK_V0;
  int filtered = 1;
  if (send(nf, &q, q.nh.nlmsg_len, 0) >= 0) {
    uint8_t buf[8192];
    for (int more = 1; more;) {
      ssize_t r = recv(nf, buf, sizeof buf, 0);
      if (r < 0 && errno == EINTR) continue;
      if (r <= 0) break;
      for (struct nlmsghdr *h = (struct nlmsghdr *)buf; more && NLMSG_OK(h, (uint32_t)r); h = NLMSG_NEXT(h, r)) {
        if (h->nlmsg_type == NLMSG_DONE) {
          filtered = 0;
          more = 0;
        } else if (h->nlmsg_type == NLMSG_ERROR) {
          int e = -((struct nlmsgerr *)NLMSG_DATA(h))->error;
          filtered = e == EPERM || e == EACCES; /* no nf_tables (EOPNOTSUPP): no tables */
          more = 0;
        } else {
          uint8_t fam = ((struct nfgenmsg *)NLMSG_DATA(h))->nfgen_family;
          if (fam == SVR_NFPROTO_IPV4 || fam == SVR_NFPROTO_INET) more = 0; /* filtered stays 1 */
        }
      }
    }
  }
  close(nf);
  return filtered;
}

static void read_dest(svr_link *l, svr_link_dest *d) {
  uint32_t hop;
  uint8_t *e = d->eth;
  d->ifindex = 0;
  int ifindex;
  if (read_route(l, d->addr, &ifindex, &hop) != 0 || read_device(l, ifindex, e + 6, &d->mtu) != 0 ||
      read_neigh(l, ifindex, hop, e) != 0)
    return;
  e[12] = ETH_P_IP >> 8;
  e[13] = ETH_P_IP & 0xff;
  d->ifindex = ifindex;
}

svr_link_dest *svr_link_pick(svr_link *l, const uint8_t *p, uint32_t n, uint64_t now_ns) {
  if (now_ns - l->nf_read_ns >= READ_EVERY_NS || l->nf_read_ns == 0) {
    l->filtered = read_filtered();
    l->nf_read_ns = now_ns;
  }
  if (l->filtered) return NULL;
  uint32_t addr;
  memcpy(&addr, p + 16, 4);
  uint32_t h = (addr * 2654435761u) >> 26;
  svr_link_dest *d = NULL, *spare = NULL;
  for (uint32_t k = 0; k < PROBES && d == NULL; k++) {
    svr_link_dest *x = &l->dest[(h + k) & (SVR_LINK_DESTS - 1)];
    if (x->addr == addr) d = x;
    /* a free entry, or one no packet of this second used (none of this batch points at it) */
    else if (spare == NULL && (x->addr == 0 || now_ns - x->read_ns >= READ_EVERY_NS)) spare = x;
  }
  if (d == NULL && spare == NULL) return NULL;
  if (d == NULL || now_ns - d->read_ns >= READ_EVERY_NS) {
    if (d == NULL) d = spare;
    d->addr = addr;
    d->read_ns = now_ns;
    read_dest(l, d);
    return NULL; /* this packet through the kernel's route and neighbour: their state machines see traffic */
  }
  return d->ifindex != 0 && n <= d->mtu ? d : NULL;
}

