/*
 * fwd-pass.h: the steady paths as C entry points, native/fwd.c's svr-out and native/fwd-in.c's svr-in, for
 * native/tun-pass.c (the poll-mode pass that runs one on a TUN batch without calling JS). The same calls nfForward and
 * niReceive make; the same thread (the data path's).
 */
#ifndef SVR_FWD_PASS_H
#define SVR_FWD_PASS_H

#include "flow-table.h"

/* packets per nfForward call (NF_BATCH) */
#define SVR_NF_BATCH 256

/* An nfCreate handle's table, else NULL (nothing thrown). */
svr_ft *svr_nf_table(napi_env env, napi_value v);
/* nfForward on b (b->res of 2 + 5 * SVR_NF_BATCH words): res[0] native, res[1] rest, then natOff, natLen, natIf,
 * restOff, restLen; returns the native count. */
uint32_t svr_nf_forward_batch(svr_ft *t, svr_ft_batch *b);

/* packets per niReceive call (NI_BATCH) */
#define SVR_NI_BATCH 256

/* An niCreate handle's table, else NULL (nothing thrown). */
svr_ft *svr_ni_table(napi_env env, napi_value v);
/* niReceive on b (b->res of 3 + 5 * SVR_NI_BATCH words): res[0] native, res[1] rest, res[2] dropped (a payload that
 * did not decrypt), then natOff, natLen, natIf, restOff, restLen; returns the native count. */
uint32_t svr_ni_receive_batch(svr_ft *t, svr_ft_batch *b);
/* Whether svr-in's marks still hold: each word niWatch handed over equals what native-receive.ts prepare() last saw
 * (svr-out's clearing generation, the path keys' and flow keys' changes, the arrays replaced). 0: leave it to JS. */
int svr_ni_current(const svr_ft *t);

/* Software prefetch of every line of packets [from, to) of a batch: the admit loops ask for the packets a few ahead, so
 * the lines the reader thread wrote on the other core come over while this thread works on earlier ones. */
#define SVR_PASS_AHEAD 4
static inline void svr_pass_prefetch(const uint8_t *data, size_t dlen, const uint32_t *off, const uint32_t *len,
                                     uint32_t from, uint32_t to) {
  for (uint32_t i = from; i < to; i++)
    if ((size_t)off[i] + len[i] <= dlen)
      for (uint32_t o = 0; o < len[i]; o += 64) __builtin_prefetch(data + off[i] + o);
}

#endif
