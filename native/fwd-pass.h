/*
 * fwd-pass.h: native/fwd.c's svr-out steady path as a C entry point, for native/tun-pass.c (the poll-mode pass that
 * runs it on a TUN batch without calling JS). The same call nfForward makes; the same thread (the data path's).
 */
#ifndef SVR_FWD_PASS_H
#define SVR_FWD_PASS_H

#include "flow-table.h"

/* packets per nfForward call (NF_BATCH) */
#define SVR_NF_BATCH 256

/* An nfCreate handle's table; NULL after throwing a TypeError. */
svr_ft *svr_nf_table(napi_env env, napi_value v);
/* nfForward on b (b->res of 2 + 5 * SVR_NF_BATCH words): res[0] native, res[1] rest, then natOff, natLen, natIf,
 * restOff, restLen; returns the native count. */
uint32_t svr_nf_forward_batch(svr_ft *t, svr_ft_batch *b);

#endif
