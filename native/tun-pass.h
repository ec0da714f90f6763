/*
 * tun-pass.h: the steady pass of a poll-mode TUN queue (native/tun-pass.c), as native/tun.c uses it.
 */
#ifndef SVR_TUN_PASS_H
#define SVR_TUN_PASS_H

#include "tun-internal.h"

typedef struct svr_tun_pass svr_tun_pass;

/* tunReaderPass's arguments after the reader (a[0..7]); NULL with *off = 1 for a null table (the pass off), else
 * NULL after throwing. */
svr_tun_pass *svr_tun_pass_args(napi_env env, napi_value *a, int *off);
/* Runs the pass on a batch of n packets (slot i at data + i * snap, lens[i]); returns the packets left for JS, moved
 * to slots 0.. in their order. *call: whether JS must be called (something left, or JS asked for the next batch). */
uint32_t svr_tun_pass_run(svr_tun_pass *p, uint8_t *data, uint32_t *lens, uint32_t n, uint32_t batch, uint32_t snap,
                          int *call);
void svr_tun_pass_free(svr_tun_pass *p);
/* tunPassProbe (tests only): the pass on a caller's batch, egress copied out (tun-pass.c). */
napi_value svr_tun_pass_probe(napi_env env, napi_callback_info info);

#endif
