/* flow-table.c: the N-API side of the flow table both native steady paths share (flow-table.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "flow-table.h"

static void release(napi_env env, svr_ft_key *k) {
  svr_unref(env, &k->ref);
  svr_unref(env, &k->ctr_ref);
}

static void ft_finalize(napi_env env, void *data, void *hint) {
  svr_ft *t = data;
  for (int i = 0; i < SVR_FT_SLOTS; i++) {
    release(env, &t->keys[i]);
    release(env, &t->ciphers[i]);
  }
  for (int i = 0; i < SVR_FT_ARRAYS; i++) svr_unref(env, &t->ref[i]);
  free(t->work);
  free(t->e);
  free(t->at);
  free(t);
}

/* The call's arguments and its kind (the function's data). */
static const void *call_args(napi_env env, napi_callback_info info, size_t *argc, napi_value *argv) {
  void *data = NULL;
  return napi_get_cb_info(env, info, argc, argv, NULL, &data) == napi_ok ? data : NULL;
}

svr_ft *svr_ft_of(napi_env env, napi_value v, const svr_ft_kind *kind) {
  void *p = NULL;
  napi_valuetype ty;
  if (napi_typeof(env, v, &ty) != napi_ok || ty != napi_external || napi_get_value_external(env, v, &p) != napi_ok ||
      p == NULL || ((svr_ft *)p)->kind != kind)
    return NULL;
  return p;
}

static svr_ft *table_of(napi_env env, size_t argc, napi_value *argv, const svr_ft_kind *kind) {
  svr_ft *t = argc < 1 ? NULL : svr_ft_of(env, argv[0], kind);
  if (t == NULL) napi_throw_type_error(env, kind->code, kind->what);
  return t;
}

svr_ft *svr_ft_arg(napi_env env, napi_callback_info info, size_t *argc, napi_value *argv, const svr_ft_kind *kind) {
  if (napi_get_cb_info(env, info, argc, argv, NULL, NULL) != napi_ok) return NULL;
  return table_of(env, *argc, argv, kind);
}

static napi_value ft_create(napi_env env, napi_callback_info info) {
  napi_value ext;
  uint32_t cap;
  size_t argc = 0;
  const svr_ft_kind *kind = call_args(env, info, &argc, NULL);
  char name[32];
  snprintf(name, sizeof name, "%sCreate", kind->prefix);
  if (svr_arg_capacity(env, info, name, &cap) != 0) return NULL;
  svr_ft *t = calloc(1, sizeof *t);
  if (t != NULL) {
    t->e = calloc(cap, kind->entry_size);
    t->work = malloc(kind->work_size);
    t->at = malloc(((size_t)cap / 2 + 1) * sizeof *t->at);
  }
  if (t == NULL || t->e == NULL || t->work == NULL || t->at == NULL || napi_create_external(env, t, ft_finalize, NULL, &ext) != napi_ok) {
    if (t != NULL) {
      free(t->e);
      free(t->work);
      free(t->at);
    }
    free(t);
    svr_throw_errno(env, 12 /* ENOMEM */, name);
    return NULL;
  }
  t->kind = kind;
  t->mask = cap - 1;
  return ext;
}

/* Every mark dropped: the entries in use zeroed (a memset of the whole table cost 9-30 us at 4,096 entries, and
 * under new sessions a clear follows nearly every mark: a flow key set or deleted drops svr-in's, a removal svr-out's). */
static void forget_all(svr_ft *t) {
  size_t size = t->kind->entry_size;
  for (uint32_t k = 0; k < t->count; k++) memset((uint8_t *)t->e + (size_t)t->at[k] * size, 0, size);
  t->count = 0;
}

static napi_value ft_clear(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  const svr_ft_kind *kind = call_args(env, info, &argc, argv);
  svr_ft *t = table_of(env, argc, argv, kind);
  if (t != NULL) forget_all(t);
  return NULL;
}

/* <prefix>Marked(h, desc) -> whether desc's flow (its first five words, as <prefix>Mark keys it) has a mark (tests). */
static napi_value ft_marked(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2], out;
  void *dv;
  size_t dl;
  const svr_ft_kind *kind = call_args(env, info, &argc, argv);
  svr_ft *t = table_of(env, argc, argv, kind);
  if (t == NULL) return NULL;
  if (argc < 2 || svr_arg_typed(env, argv[1], napi_uint32_array, "desc", &dv, &dl) != 0 || dl < 5) {
    napi_throw_type_error(env, NULL, "<prefix>Marked(h, desc: Uint32Array of 5 words or more)");
    return NULL;
  }
  const uint32_t *d = dv;
  svr_ft_flow f = {{d[2], d[3], d[4], (d[0] & 0xffff) << 8 | (d[1] & 0xff)}};
  napi_get_boolean(env, svr_ft_find(t, &f, 0, kind->entry_size) != NULL, &out);
  return out;
}

svr_ft *svr_ft_mark_args(napi_env env, napi_callback_info info, const svr_ft_kind *kind, uint32_t words,
                         const uint32_t **desc, double *until) {
  size_t argc = 3, dl;
  napi_value argv[3];
  void *dv;
  svr_ft *t = svr_ft_arg(env, info, &argc, argv, kind);
  if (t == NULL || argc < 3 || svr_arg_typed(env, argv[1], napi_uint32_array, "desc", &dv, &dl) != 0) return NULL;
  if (dl < words || napi_get_value_double(env, argv[2], until) != napi_ok) {
    char msg[64];
    snprintf(msg, sizeof msg, "%sMark(h, desc, until): desc too short", kind->prefix);
    napi_throw_range_error(env, NULL, msg);
    return NULL;
  }
  *desc = dv;
  return t;
}

void *svr_ft_insert(svr_ft *t, const svr_ft_flow *f) {
  if (t->count >= (t->mask + 1) / 2) forget_all(t);
  svr_ft_head *e = svr_ft_find(t, f, 1, t->kind->entry_size);
  if (e != NULL && !e->used) t->at[t->count++] = (uint32_t)(((uint8_t *)e - (uint8_t *)t->e) / t->kind->entry_size);
  return e;
}

svr_ft_key *svr_ft_set_handle(napi_env env, svr_ft *t, napi_value slotv, napi_value handle_v, int hmac, const char *usage) {
  uint32_t slot;
  if (svr_arg_u32(env, slotv, "slot", &slot) != 0) return NULL;
  void *h = svr_crypto_handle(env, handle_v, hmac);
  if (h == NULL) return NULL;
  if (slot >= SVR_FT_SLOTS || (!hmac && !svr_crypto_cbc(h))) {
    napi_throw_range_error(env, NULL, usage);
    return NULL;
  }
  svr_ft_key *k = hmac ? &t->keys[slot] : &t->ciphers[slot];
  release(env, k);
  if (napi_create_reference(env, handle_v, 1, &k->ref) != napi_ok) {
    svr_throw_last_status(env, "napi_create_reference");
    return NULL;
  }
  k->h = h;
  return k;
}

/* <prefix>Key(h, slot, hmac) (fwd-in.c's) and <prefix>Cipher(h, slot, cipher). */
static napi_value set_handle(napi_env env, napi_callback_info info, int hmac) {
  size_t argc = 3;
  napi_value argv[3];
  const svr_ft_kind *kind = call_args(env, info, &argc, argv);
  svr_ft *t = table_of(env, argc, argv, kind);
  char usage[96];
  snprintf(usage, sizeof usage, "%s%s: slot out of range, or not an AES-CBC cipher", kind->prefix, hmac ? "Key" : "Cipher");
  if (t != NULL && argc < 3) napi_throw_type_error(env, NULL, usage);
  else if (t != NULL) svr_ft_set_handle(env, t, argv[1], argv[2], hmac, usage);
  return NULL;
}

static napi_value ft_key(napi_env env, napi_callback_info info) { return set_handle(env, info, 1); }

static napi_value ft_cipher(napi_env env, napi_callback_info info) { return set_handle(env, info, 0); }

static napi_value ft_arrays(napi_env env, napi_callback_info info) {
  size_t argc = 1 + SVR_FT_ARRAYS;
  napi_value argv[1 + SVR_FT_ARRAYS];
  const svr_ft_arrays *set = call_args(env, info, &argc, argv);
  svr_ft *t = table_of(env, argc, argv, set->kind);
  if (t == NULL) return NULL;
  if (argc < 1 + set->n) {
    napi_throw_type_error(env, NULL, set->usage);
    return NULL;
  }
  for (uint32_t i = 0; i < set->n; i++) {
    void *p;
    size_t n;
    uint32_t a = set->first + i;
    if (svr_arg_typed(env, argv[1 + i], set->types[i], "array", &p, &n) != 0) return NULL;
    svr_unref(env, &t->ref[a]);
    SVR_CHECK(env, napi_create_reference(env, argv[1 + i], 1, &t->ref[a]));
    t->arr[a] = p;
    t->len[a] = n;
  }
  return NULL;
}

svr_ft *svr_ft_batch_args(napi_env env, napi_callback_info info, const svr_ft_kind *kind, int room, uint32_t head,
                          svr_ft_batch *b) {
  size_t argc = 10, on, ln, rn;
  napi_value argv[10];
  void *datav, *offv, *lenv, *resv;
  double slotv;
  svr_ft *t = svr_ft_arg(env, info, &argc, argv, kind);
  napi_value *a = argv + (room ? 1 : 0); /* a[5]: ifIndex */
  b->room = 0;
  b->l4ok = NULL;
  if (t == NULL) return NULL;
  if (argc < (size_t)(9 + (room ? 1 : 0)) || svr_arg_typed(env, argv[1], napi_uint8_array, "data", &datav, &b->dlen) != 0 ||
      svr_arg_typed(env, argv[2], napi_uint32_array, "offsets", &offv, &on) != 0 ||
      svr_arg_typed(env, argv[3], napi_uint32_array, "lengths", &lenv, &ln) != 0 ||
      svr_arg_u32(env, argv[4], "count", &b->count) != 0 || (room && svr_arg_u32(env, argv[5], "room", &b->room) != 0) ||
      svr_arg_u32(env, a[5], "ifIndex", &b->ifx) != 0 || napi_get_value_double(env, a[6], &b->now) != napi_ok ||
      svr_arg_typed(env, a[7], napi_uint32_array, "res", &resv, &rn) != 0 || napi_get_value_double(env, a[8], &slotv) != napi_ok)
    return NULL;
  if (b->count > on || b->count > ln || b->count > kind->batch || rn < head + SVR_FT_LISTS * kind->batch) {
    char msg[112];
    snprintf(msg, sizeof msg, "%s: count beyond offsets, lengths or the batch size, or res too short", kind->prefix);
    napi_throw_range_error(env, NULL, msg);
    return NULL;
  }
  b->data = datav;
  b->off = offv;
  b->len = lenv;
  b->res = resv;
  for (int i = 0; i < SVR_FT_LISTS; i++) b->list[i] = b->res + head + (size_t)i * kind->batch;
  b->slot = slotv >= 0 && slotv <= 4294967295.0 ? (int64_t)slotv : -1;
  return t;
}

static napi_value svr_ft_done(napi_env env, const svr_ft_batch *b, uint32_t native, uint32_t rest) {
  napi_value result;
  b->res[0] = native;
  b->res[1] = rest;
  SVR_CHECK(env, napi_create_uint32(env, native, &result));
  return result;
}

napi_value svr_ft_batch_call(napi_env env, napi_callback_info info, const svr_ft_kind *kind, int room, uint32_t head,
                             uint32_t (*run)(svr_ft *t, svr_ft_batch *b)) {
  svr_ft_batch b;
  svr_ft *t = svr_ft_batch_args(env, info, kind, room, head, &b);
  if (t == NULL) return NULL;
  uint32_t nat = run(t, &b);
  return svr_ft_done(env, &b, nat, b.res[1]);
}

static napi_status export_named(napi_env env, napi_value exports, const char *prefix, const char *suffix,
                                napi_callback fn, const void *data) {
  char name[32];
  snprintf(name, sizeof name, "%s%s", prefix, suffix);
  return svr_export_fn(env, exports, name, fn, (void *)data);
}

napi_status svr_ft_export(napi_env env, napi_value exports, const svr_ft_kind *kind, int plain_key,
                          const svr_ft_arrays *const *sets, size_t nsets, const svr_ft_fn *fns, size_t nfns) {
  napi_status s;
  if ((s = export_named(env, exports, kind->prefix, "Create", ft_create, kind)) != napi_ok) return s;
  if ((s = export_named(env, exports, kind->prefix, "Clear", ft_clear, kind)) != napi_ok) return s;
  if ((s = export_named(env, exports, kind->prefix, "Marked", ft_marked, kind)) != napi_ok) return s;
  if ((s = export_named(env, exports, kind->prefix, "Cipher", ft_cipher, kind)) != napi_ok) return s;
  if (plain_key && (s = export_named(env, exports, kind->prefix, "Key", ft_key, kind)) != napi_ok) return s;
  for (size_t i = 0; i < nsets; i++)
    if ((s = svr_export_fn(env, exports, sets[i]->name, ft_arrays, (void *)sets[i])) != napi_ok) return s;
  for (size_t i = 0; i < nfns; i++)
    if ((s = svr_export_fn(env, exports, fns[i].name, fns[i].fn, (void *)kind)) != napi_ok) return s;
  char name[32];
  snprintf(name, sizeof name, "%c%c_BATCH", kind->prefix[0] - 32, kind->prefix[1] - 32);
  return svr_export_u32(env, exports, name, kind->batch);
}
