# One native addon for svrouter: build/Release/svr_native.node.
# npm ci runs native/install.js, which runs `node-gyp rebuild` when the C toolchain is there (else `svr setup` does).
# Add new C components (sendmmsg, ...) as more sources of this one target;
# each exports an svr_<component>_init() called from native/main.c.
{
  "targets": [
    {
      "target_name": "svr_native",
      "sources": [
        "native/main.c",
        "native/util.c",
        "native/tun.c",
        "native/tun-write.c",
        "native/tun-pass.c",
        "native/tun-uring.c",
        "native/wan-rx-ring.c",
        "native/wan-raw.c",
        "native/link-send.c",
        "native/offload.c",
        "native/crypto.c",
        "native/aes-cbc-lanes.c",
        "native/aes-cbc-vaes.c",
        "native/hmac-pads.c",
        "native/hmac-lanes.c",
        "native/hmac-shani.c",
        "native/hmac-many.c",
        "native/checksum.c",
        "native/steady-send.c",
        "native/frame-copy.c",
        "native/packet-socket.c",
        "native/row-memory.c",
        "native/heap-release.cc",
        "native/flow-table.c",
        "native/fwd.c",
        "native/fwd-in.c",
        "native/udp-send.c",
        "native/ipfix-flows.c",
        "native/sync-socket.c"
      ],
      "defines": ["NAPI_VERSION=8", "_GNU_SOURCE"],
      "cflags": ["-Wall", "-Wextra", "-Wno-unused-parameter"],
      "cflags_c": ["-std=gnu11"],
      "conditions": [
        ["OS!='linux'", { "sources!": ["native/tun.c", "native/tun-write.c", "native/tun-pass.c", "native/tun-uring.c",
        "native/wan-rx-ring.c", "native/wan-raw.c", "native/link-send.c", "native/packet-socket.c", "native/sync-socket.c"], "defines": ["SVR_NO_TUN"] }]
      ]
    }
  ]
}
