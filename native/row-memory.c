/*
 * Memory for the session table's row columns (src/dataplane/row-memory.ts): an ArrayBuffer reserved with
 * mmap(MAP_NORESERVE), whose pages become resident only when first written (a table reserved for its
 * session limit costs the rows it has used, and never copies rows to grow); and madvise(MADV_DONTNEED) on the
 * whole pages inside a byte range of such a buffer, which gives them back (they read as zeros after).
 *   reserveMemory(bytes, huge) -> ArrayBuffer (unmapped when collected); huge: madvise(MADV_HUGEPAGE), so that
 *     the kernel backs it with 2 MiB pages where it can (transparent huge pages in "madvise" or "always" mode)
 *   releaseMemory(buffer, byteOffset, byteLength) -> bytes given back
 *   residentMemory(buffer) -> bytes of its pages that are resident (mincore; for the memory benchmark)
 */
#include "svr_native.h"

#include <errno.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

static void unmap(napi_env env, void *data, void *hint) {
  munmap(data, (size_t)(uintptr_t)hint);
}

static napi_value reserve_memory(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  SVR_CHECK(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  double bytes = 0;
  bool huge = false;
  if (argc >= 2 && napi_get_value_bool(env, argv[1], &huge) != napi_ok) huge = false;
  if (argc < 1 || napi_get_value_double(env, argv[0], &bytes) != napi_ok || !(bytes >= 1) || bytes > 0x1p46) {
    napi_throw_range_error(env, NULL, "reserveMemory: bytes must be a number from 1 to 2^46");
    return NULL;
  }
  size_t len = (size_t)bytes;
  void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (p == MAP_FAILED) {
    svr_throw_errno(env, errno, "mmap");
    return NULL;
  }
  // a hint: without transparent huge pages (EINVAL) the buffer is the same, in 4 KiB pages
  if (huge) (void)madvise(p, len, MADV_HUGEPAGE);
  napi_value ab;
  if (napi_create_external_arraybuffer(env, p, len, unmap, (void *)(uintptr_t)len, &ab) != napi_ok) {
    munmap(p, len);
    svr_throw_last_status(env, "napi_create_external_arraybuffer");
    return NULL;
  }
  return ab;
}

static napi_value release_memory(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  SVR_CHECK(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  void *data = NULL;
  size_t len = 0;
  uint32_t off = 0, n = 0;
  if (argc < 3) {
    napi_throw_type_error(env, NULL, "releaseMemory(buffer, byteOffset, byteLength)");
    return NULL;
  }
  if (svr_arg_arraybuffer(env, argv[0], "releaseMemory: buffer", &data, &len) != 0) return NULL;
  if (svr_arg_u32(env, argv[1], "byteOffset", &off) != 0 || svr_arg_u32(env, argv[2], "byteLength", &n) != 0) return NULL;
  if ((size_t)off + n > len) {
    napi_throw_range_error(env, NULL, "releaseMemory: the range passes the end of the buffer");
    return NULL;
  }
  uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE);
  uintptr_t from = ((uintptr_t)data + off + page - 1) & ~(page - 1);
  uintptr_t to = ((uintptr_t)data + off + n) & ~(page - 1);
  size_t released = 0;
  if (to > from) {
    if (madvise((void *)from, to - from, MADV_DONTNEED) != 0) {
      svr_throw_errno(env, errno, "madvise");
      return NULL;
    }
    released = to - from;
  }
  napi_value r;
  SVR_CHECK(env, napi_create_double(env, (double)released, &r));
  return r;
}

static napi_value resident_memory(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  SVR_CHECK(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  void *data = NULL;
  size_t len = 0;
  if (argc < 1) {
    napi_throw_type_error(env, NULL, "residentMemory(buffer)");
    return NULL;
  }
  if (svr_arg_arraybuffer(env, argv[0], "residentMemory: buffer", &data, &len) != 0) return NULL;
  uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE);
  uintptr_t from = (uintptr_t)data & ~(page - 1);
  size_t pages = ((uintptr_t)data + len - from + page - 1) / page;
  double resident = 0;
  if (pages > 0) {
    unsigned char *vec = malloc(pages);
    if (vec == NULL) {
      svr_throw_errno(env, ENOMEM, "malloc");
      return NULL;
    }
    if (mincore((void *)from, pages * page, vec) != 0) {
      int err = errno;
      free(vec);
      svr_throw_errno(env, err, "mincore");
      return NULL;
    }
    for (size_t i = 0; i < pages; i++) resident += (vec[i] & 1) ? (double)page : 0;
    free(vec);
  }
  napi_value r;
  SVR_CHECK(env, napi_create_double(env, resident, &r));
  return r;
}

napi_status svr_row_memory_init(napi_env env, napi_value exports) {
  napi_status s = svr_export_fn(env, exports, "reserveMemory", reserve_memory, NULL);
  if (s != napi_ok) return s;
  s = svr_export_fn(env, exports, "residentMemory", resident_memory, NULL);
  if (s != napi_ok) return s;
  return svr_export_fn(env, exports, "releaseMemory", release_memory, NULL);
}
