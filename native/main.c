/* svr_native entry point: every component adds its functions to one exports object. */
#include "svr_native.h"

NAPI_MODULE_INIT(/* napi_env env, napi_value exports */) {
#ifndef SVR_NO_TUN
  if (svr_tun_init(env, exports) != napi_ok) {
    svr_throw_last_status(env, "svr_tun_init");
    return NULL;
  }
#endif
  return exports;
}
