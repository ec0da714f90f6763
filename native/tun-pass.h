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
 * to slots 0.. in their order. *call: whether JS must be called (something left, or JS asked for the next batch).
 * l4ok: svr_tun_pass_verdicts' of the batch (the reader thread's), or NULL. */
uint32_t svr_tun_pass_run(svr_tun_pass *p, uint8_t *data, uint32_t *lens, const uint8_t *l4ok, uint32_t n, uint32_t batch,
                          uint32_t snap, int *call);
/* The reader thread, on the batch it just wrote (the bytes still in its core's cache): ok[i] = 1 when packet i is IPv4
 * without options, TCP or UDP, and its L4 checksum verifies (svr_steady_verify_l4, what the pass's admit checks before
 * sealing or opening a payload), else 0. The pass then skips that check, the first read of the whole packet on the JS
 * thread's core. */
void svr_tun_pass_verdicts(const uint8_t *data, const uint32_t *lens, uint32_t n, uint32_t snap, uint8_t *ok);
void svr_tun_pass_free(svr_tun_pass *p);
/* tunPassProbe (tests only): the pass on a caller's batch, egress copied out (tun-pass.c). */
napi_value svr_tun_pass_probe(napi_env env, napi_callback_info info);

#endif
