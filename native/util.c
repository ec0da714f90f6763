/* Small N-API helpers shared by the components of svr_native. */
#include "svr_native.h"

#include <stdio.h>
#include <string.h>

napi_value svr_errno_error(napi_env env, int err, const char *syscall) {
  napi_value msg, error, num, sc;
  char buf[256];
  snprintf(buf, sizeof buf, "%s", strerror(err));
  if (napi_create_string_utf8(env, buf, NAPI_AUTO_LENGTH, &msg) != napi_ok) return NULL;
  if (napi_create_error(env, NULL, msg, &error) != napi_ok) return NULL;
  if (napi_create_int32(env, err, &num) == napi_ok) napi_set_named_property(env, error, "errno", num);
  if (napi_create_string_utf8(env, syscall, NAPI_AUTO_LENGTH, &sc) == napi_ok)
    napi_set_named_property(env, error, "syscall", sc);
  return error;
}

void svr_throw_errno(napi_env env, int err, const char *syscall) {
  napi_value error = svr_errno_error(env, err, syscall);
  if (error != NULL) napi_throw(env, error);
  else svr_throw_last_status(env, "creating an errno error");
}

void svr_throw_last_status(napi_env env, const char *what) {
  bool pending = false;
  napi_is_exception_pending(env, &pending);
  if (pending) return;
  const napi_extended_error_info *info = NULL;
  napi_get_last_error_info(env, &info);
  char buf[256];
  snprintf(buf, sizeof buf, "svr_native: %s failed: %s", what,
           info && info->error_message ? info->error_message : "unknown N-API error");
  napi_throw_error(env, NULL, buf);
}

napi_status svr_export_fn(napi_env env, napi_value exports, const char *name, napi_callback fn, void *data) {
  napi_value f;
  napi_status s = napi_create_function(env, name, NAPI_AUTO_LENGTH, fn, data, &f);
  if (s != napi_ok) return s;
  return napi_set_named_property(env, exports, name, f);
}

napi_status svr_export_u32(napi_env env, napi_value exports, const char *name, uint32_t value) {
  napi_value v;
  napi_status s = napi_create_uint32(env, value, &v);
  if (s != napi_ok) return s;
  return napi_set_named_property(env, exports, name, v);
}

static int type_error(napi_env env, const char *what, const char *expected) {
  char buf[160];
  snprintf(buf, sizeof buf, "%s must be %s", what, expected);
  napi_throw_type_error(env, NULL, buf);
  return -1;
}

int svr_arg_i32(napi_env env, napi_value v, const char *what, int32_t *out) {
  napi_valuetype t;
  if (napi_typeof(env, v, &t) != napi_ok || t != napi_number) return type_error(env, what, "a number");
  return napi_get_value_int32(env, v, out) == napi_ok ? 0 : type_error(env, what, "a number");
}

int svr_arg_u32(napi_env env, napi_value v, const char *what, uint32_t *out) {
  int32_t i;
  if (svr_arg_i32(env, v, what, &i) != 0) return -1;
  if (i < 0) return type_error(env, what, "a non-negative integer");
  *out = (uint32_t)i;
  return 0;
}

int svr_arg_typed(napi_env env, napi_value v, napi_typedarray_type type, const char *what, void **data, size_t *len) {
  static const char *names[] = {"an Int8Array", "a Uint8Array", "a Uint8ClampedArray", "an Int16Array",
                                "a Uint16Array", "an Int32Array", "a Uint32Array", "a Float32Array",
                                "a Float64Array", "a BigInt64Array", "a BigUint64Array"};
  bool is = false;
  napi_typedarray_type t;
  const char *expected = (size_t)type < sizeof names / sizeof names[0] ? names[type] : "a typed array";
  if (napi_is_typedarray(env, v, &is) != napi_ok || !is) return type_error(env, what, expected);
  if (napi_get_typedarray_info(env, v, &t, len, data, NULL, NULL) != napi_ok || t != type)
    return type_error(env, what, expected);
  if (*data == NULL && *len > 0) return type_error(env, what, "an attached typed array");
  return 0;
}

int svr_arg_arraybuffer(napi_env env, napi_value v, const char *what, void **data, size_t *len) {
  bool is = false;
  if (napi_is_arraybuffer(env, v, &is) != napi_ok || !is) return type_error(env, what, "an ArrayBuffer");
  if (napi_get_arraybuffer_info(env, v, data, len) != napi_ok) return type_error(env, what, "a readable ArrayBuffer");
  return 0;
}

void svr_unref(napi_env env, napi_ref *r) {
  if (*r != NULL) napi_delete_reference(env, *r);
  *r = NULL;
}

void *svr_arg_handle(napi_env env, napi_callback_info info, size_t *argc, napi_value *argv, const char *code, const char *msg) {
  void *p = NULL;
  napi_valuetype ty;
  if (napi_get_cb_info(env, info, argc, argv, NULL, NULL) != napi_ok) return NULL;
  if (*argc < 1 || napi_typeof(env, argv[0], &ty) != napi_ok || ty != napi_external ||
      napi_get_value_external(env, argv[0], &p) != napi_ok || p == NULL) {
    napi_throw_type_error(env, code, msg);
    return NULL;
  }
  return p;
}

int svr_arg_capacity(napi_env env, napi_callback_info info, const char *fn, uint32_t *cap) {
  size_t argc = 1;
  napi_value argv[1];
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok) return -1;
  if (argc < 1 || svr_arg_u32(env, argv[0], "capacity", cap) != 0) return -1;
  if (*cap < 16 || *cap > (1u << 24) || (*cap & (*cap - 1)) != 0) {
    char msg[96];
    snprintf(msg, sizeof msg, "%s: capacity must be a power of two from 16 to 2^24", fn);
    napi_throw_range_error(env, NULL, msg);
    return -1;
  }
  return 0;
}
