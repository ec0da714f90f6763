/*
 * heap-release: asks V8 to give the calling thread's heap memory back (the one C++ file: N-API has no call
 * for it). Exports:
 *   releaseHeap() -> undefined: Isolate::MemoryPressureNotification(kModerate) on the calling thread's
 *   isolate. V8 starts an incremental mark-compact that reduces memory: its steps run as tasks of this
 *   thread's event loop, and at its end the young generation shrinks to its least (a 16 MB semispace pair,
 *   grown by a burst of garbage, goes back to 1 MB and its pages are unmapped; at the old generation's
 *   end, free pages are released). No pause of a full collection: the marking is incremental.
 * Called by the data path after its session table drained (src/dataplane/heap-release.ts).
 */
#include <v8.h>

extern "C" {
#include "svr_native.h"
}

static napi_value release_heap(napi_env env, napi_callback_info info) {
  v8::Isolate *isolate = v8::Isolate::GetCurrent();
  if (isolate != nullptr) isolate->MemoryPressureNotification(v8::MemoryPressureLevel::kModerate);
  return nullptr;
}

extern "C" napi_status svr_heap_release_init(napi_env env, napi_value exports) {
  return svr_export_fn(env, exports, "releaseHeap", release_heap, nullptr);
}
