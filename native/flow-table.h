/*
 * flow-table.h: the table of marked flows both native steady paths use (native/fwd.c: svr-out, native/fwd-in.c:
 * svr-in; issue 19 item 5). One table per data path and direction, made by <prefix>Create(capacityPow2): marks in
 * open addressing keyed by a flow's four words, the HMAC and cipher handles marks name by slot, and the typed arrays
 * JS hands over (session columns, replay windows, path liveness), each held by a reference until it is replaced or
 * the table is collected. native/flow-table.c registers the calls both directions share (<prefix>Create, Clear, Marked,
 * Cipher and the array setters); a direction adds its mark, key and batch calls. One thread: the data path's.
 */
#ifndef SVR_FLOW_TABLE_H
#define SVR_FLOW_TABLE_H

#include "svr_native.h"

#define SVR_FT_SLOTS 1024
#define SVR_FT_ARRAYS 24
#define SVR_FT_LISTS 5 /* a batch result's lists: natOff, natLen, natIf, restOff, restLen */

/* A flow: its address and port words as the direction reads them, and interface << 8 | protocol. */
typedef struct {
  uint32_t w[4];
} svr_ft_flow;

/* What every entry starts with (the direction's entry type has it as its first member, `head`). */
typedef struct {
  svr_ft_flow flow;
  uint32_t used;
  double until; /* the mark's lease: a packet at or after it goes to JS */
} svr_ft_head;

/* A slot's crypto handle (crypto.c), and what fwd.c keeps of a tx key with it. */
typedef struct {
  void *h;
  napi_ref ref, ctr_ref;
  uint32_t *ctr; /* fwd.c: the TxKey's counter words [hi, lo, signed here] */
  uint32_t tag_len, key_id, sender;
} svr_ft_key;

/* A direction: its calls' prefix ("nf", "ni"), the TypeError a call on anything else throws, its sizes. */
typedef struct {
  const char *prefix, *code, *what;
  size_t entry_size, work_size;
  uint32_t batch; /* <PREFIX>_BATCH: packets per batch call */
} svr_ft_kind;

typedef struct {
  const svr_ft_kind *kind;
  void *e;    /* mask + 1 entries of kind->entry_size */
  void *work; /* kind->work_size: the direction's per-call scratch */
  uint32_t mask, count;
  uint32_t *at; /* the entries in use: count of them (at most half the table), so a clear zeroes only those */
  svr_ft_key keys[SVR_FT_SLOTS], ciphers[SVR_FT_SLOTS];
  napi_ref ref[SVR_FT_ARRAYS];
  void *arr[SVR_FT_ARRAYS];
  size_t len[SVR_FT_ARRAYS];
} svr_ft;

/* <name>(h, a0, a1, ...): typed arrays stored at arr[first ..] (usage: the TypeError's text). */
typedef struct {
  const svr_ft_kind *kind;
  const char *name, *usage;
  uint32_t first, n;
  napi_typedarray_type types[SVR_FT_ARRAYS];
} svr_ft_arrays;

/* A batch call's arguments: (h, data, offsets, lengths, count, [room,] ifIndex, now, res, slot). */
typedef struct {
  uint8_t *data;
  size_t dlen;
  const uint32_t *off, *len;
  uint32_t count, room, ifx;
  double now;
  int64_t slot; /* the time slot of time-based tags; -1: none */
  uint32_t *res;
  uint32_t *list[SVR_FT_LISTS]; /* res after its `head` words: natOff, natLen, natIf, restOff, restLen */
  const uint8_t *l4ok; /* per packet, 1: its IPv4 L4 checksum verified on the reader thread (tun-pass.c); NULL: none */
} svr_ft_batch;

/* The session table's columns both directions account in (session-table.ts): arr[0, SVR_FT_COLS); then its HA sync
 * arrays (syncRows, syncDirty, syncTop: empty until control first collects), arr[SVR_FT_COLS, SVR_FT_SHARED). A
 * direction's own arrays start at SVR_FT_SHARED. */
enum {
  SVR_FT_PKTS_FWD, SVR_FT_BYTES_FWD, SVR_FT_PKTS_REV, SVR_FT_BYTES_REV, SVR_FT_LAST_SEEN, SVR_FT_EXPIRES, SVR_FT_FLAGS, SVR_FT_COLS,
  SVR_FT_SYNC_ROWS = SVR_FT_COLS, SVR_FT_SYNC_DIRTY, SVR_FT_SYNC_TOP, SVR_FT_SHARED
};
#define SVR_FT_COLUMN_NAMES "pktsFwd, bytesFwd, pktsRev, bytesRev, lastSeen, expires, flags, syncRows, syncDirty, syncTop"
#define SVR_FT_COLUMN_TYPES                                                                                       \
  napi_uint32_array, napi_float64_array, napi_uint32_array, napi_float64_array, napi_uint32_array, napi_uint32_array, \
      napi_uint16_array, napi_float64_array, napi_int32_array, napi_int32_array
/* session-table.ts: SYNC_WORDS (a row's sync state: mark, expiry and flags the partner has, padding), SYNC_EXPIRY_MS */
#define SVR_FT_SYNC_WORDS 4
#define SVR_FT_SYNC_EXPIRY_MS 60000

/* Whether session row r is within every column JS handed over. */
static inline int svr_ft_row_ok(const svr_ft *t, uint32_t r) {
  for (int i = 0; i < SVR_FT_COLS; i++)
    if (r >= t->len[i]) return 0;
  return 1;
}

/* The session's flags column at row r (within the columns). */
static inline uint16_t svr_ft_flags(const svr_ft *t, uint32_t r) { return ((const uint16_t *)t->arr[SVR_FT_FLAGS])[r]; }

/* session-table.ts checkSync (a router pair's active node; syncRows empty: not syncing): row r not marked is marked
 * (at `now`, appended to syncDirty, syncTop[0] its length, shared with JS) when its flags differ from the partner's
 * or its expiry moved SYNC_EXPIRY_MS from the one sent. Two compares per packet, as in JS. */
static inline void svr_ft_check_sync(svr_ft *t, uint32_t r, double now) {
  if ((size_t)(r + 1) * SVR_FT_SYNC_WORDS > t->len[SVR_FT_SYNC_ROWS] || t->len[SVR_FT_SYNC_TOP] == 0) return;
  double *s = (double *)t->arr[SVR_FT_SYNC_ROWS] + (size_t)r * SVR_FT_SYNC_WORDS;
  if (s[0] >= 0) return;
  int32_t moved = (int32_t)(((const uint32_t *)t->arr[SVR_FT_EXPIRES])[r] - (uint32_t)(int64_t)s[1]);
  if ((double)svr_ft_flags(t, r) == s[2] && moved < SVR_FT_SYNC_EXPIRY_MS && moved > -SVR_FT_SYNC_EXPIRY_MS) return;
  int32_t *top = t->arr[SVR_FT_SYNC_TOP];
  if (top[0] < 0 || (size_t)top[0] >= t->len[SVR_FT_SYNC_DIRTY]) return; /* cannot happen: a row is listed once */
  s[0] = now;
  ((int32_t *)t->arr[SVR_FT_SYNC_DIRTY])[top[0]++] = (int32_t)r;
}

/* session-ops.ts accountPacket for a row within the columns: its packets, bytes, last seen and expiry, and the HA
 * sync check. */
static inline void svr_ft_account(svr_ft *t, uint32_t r, int forward, double bytes, double now, uint32_t timeout) {
  ((uint32_t *)t->arr[forward ? SVR_FT_PKTS_FWD : SVR_FT_PKTS_REV])[r]++;
  ((double *)t->arr[forward ? SVR_FT_BYTES_FWD : SVR_FT_BYTES_REV])[r] += bytes;
  ((uint32_t *)t->arr[SVR_FT_LAST_SEEN])[r] = (uint32_t)(uint64_t)now;
  ((uint32_t *)t->arr[SVR_FT_EXPIRES])[r] = (uint32_t)(uint64_t)(now + timeout);
  svr_ft_check_sync(t, r, now);
}

static inline uint32_t svr_ft_hash(const svr_ft_flow *f) {
  uint32_t h = f->w[0] * 0x9e3779b1u ^ f->w[1];
  h = (h ^ (h >> 15)) * 0x85ebca77u ^ f->w[2];
  h = (h ^ (h >> 13)) * 0xc2b2ae3du ^ f->w[3];
  return h ^ (h >> 16);
}

/* The entry of flow f, or (insert) the free entry it goes in; NULL when absent (or the table is full). */
static inline void *svr_ft_find(const svr_ft *t, const svr_ft_flow *f, int insert, size_t entry_size) {
  for (uint32_t i = svr_ft_hash(f) & t->mask, n = 0; n <= t->mask; i = (i + 1) & t->mask, n++) {
    svr_ft_head *e = (svr_ft_head *)((uint8_t *)t->e + (size_t)i * entry_size);
    if (!e->used) return insert ? e : NULL;
    if (e->flow.w[0] == f->w[0] && e->flow.w[1] == f->w[1] && e->flow.w[2] == f->w[2] && e->flow.w[3] == f->w[3]) return e;
  }
  return NULL;
}

/* The table v holds when it is one of `kind`, else NULL (nothing thrown). */
svr_ft *svr_ft_of(napi_env env, napi_value v, const svr_ft_kind *kind);
/* The table a call's first argument holds (fills argc/argv), of `kind`; NULL after throwing. */
svr_ft *svr_ft_arg(napi_env env, napi_callback_info info, size_t *argc, napi_value *argv, const svr_ft_kind *kind);
/* <prefix>Mark(h, desc, until)'s arguments: the table, desc (at least `words` u32), until; NULL after throwing. */
svr_ft *svr_ft_mark_args(napi_env env, napi_callback_info info, const svr_ft_kind *kind, uint32_t words,
                         const uint32_t **desc, double *until);
/* The entry flow f's mark goes in, counted (half full: every mark is dropped first, they come back with their
 * flows' next packets); the caller fills all of it. NULL when the table is full. */
void *svr_ft_insert(svr_ft *t, const svr_ft_flow *f);
/* Slot `slotv` of t's keys (hmac) or ciphers (AES-CBC only) holds handle_v; the slot, or NULL after throwing. */
svr_ft_key *svr_ft_set_handle(napi_env env, svr_ft *t, napi_value slotv, napi_value handle_v, int hmac, const char *usage);
/* A batch call's arguments (with `room` or not), res of `head` words and SVR_FT_LISTS lists; NULL after throwing. */
svr_ft *svr_ft_batch_args(napi_env env, napi_callback_info info, const svr_ft_kind *kind, int room, uint32_t head,
                          svr_ft_batch *b);
/* A direction's batch call (nfForward, niReceive): its arguments (svr_ft_batch_args), `run` on them (which fills res[0]
 * and res[1]), the native count returned to JS. */
napi_value svr_ft_batch_call(napi_env env, napi_callback_info info, const svr_ft_kind *kind, int room, uint32_t head,
                             uint32_t (*run)(svr_ft *t, svr_ft_batch *b));
/* Registers <prefix>Create, Clear, Cipher and Key (without key words: fwd-in.c), the array setters, `fns` (with data
 * = kind) and <PREFIX>_BATCH. */
typedef struct {
  const char *name;
  napi_callback fn;
} svr_ft_fn;
napi_status svr_ft_export(napi_env env, napi_value exports, const svr_ft_kind *kind, int plain_key,
                          const svr_ft_arrays *const *sets, size_t nsets, const svr_ft_fn *fns, size_t nfns);

#endif
