"""Drives the installed vmaplab kernel with Debian's jupyter_client and prints what it observed as JSON.

The assertions live in tests/kernel-protocol.test.ts; this script only talks to the kernel.
Usage: /usr/bin/python3 tests/python/kernel_protocol.py STDERR_LOG_PATH
"""
import json
import sys
import time

import zmq
from jupyter_client.manager import KernelManager

from kernel_driver import TIMEOUT, run


def main():
    log_path = sys.argv[1]
    out = {}
    km = KernelManager(kernel_name="vmaplab")
    with open(log_path, "w") as log:
        km.start_kernel(stderr=log, stdout=log)
    kc = km.client()
    kc.start_channels()
    try:
        kc.wait_for_ready(timeout=TIMEOUT)
        out["kernel_info"] = kc.kernel_info(reply=True, timeout=TIMEOUT)["content"]
        out["declare"] = run(kc, "const x = 2")
        out["answer"] = run(kc, "x * 21")
        out["print"] = run(kc, 'console.log("hello", x); console.error("oops")')
        out["throw"] = run(kc, "const y = 1;\nthrow new Error('boom ' + y)")
        out["after_throw"] = run(kc, "x + 1")
        out["array"] = run(kc, "jnp.sin(jnp.array([0, 1, 2])).mul(2)")
        out["device"] = run(kc, "defaultDevice().id")
        out["redeclare"] = run(kc, "const x = 5; x")

        # A message signed with the wrong key: the kernel must ignore it (and log that it did).
        ctx = zmq.Context.instance()
        sock = ctx.socket(zmq.DEALER)
        sock.connect(f"{km.transport}://{km.ip}:{km.shell_port}")
        bad = kc.session.msg("execute_request", {"code": "globalThis.hacked = true", "silent": False})
        frames = [b"<IDS|MSG>", b"0" * 64] + [
            json.dumps(part, default=str).encode() for part in (bad["header"], bad["parent_header"], bad["metadata"], bad["content"])
        ]
        sock.send_multipart(frames)
        out["bad_signature_answered"] = sock.poll(3000) != 0
        sock.close(0)
        out["after_bad_signature"] = run(kc, "typeof globalThis.hacked")

        kc.shutdown()
        deadline = time.time() + 30
        while km.is_alive() and time.time() < deadline:
            time.sleep(0.1)
        out["alive_after_shutdown"] = km.is_alive()
    finally:
        kc.stop_channels()
        if km.is_alive():
            km.shutdown_kernel(now=True)
    with open(log_path) as log:
        out["stderr_log"] = log.read()
    print(json.dumps(out, default=str))


if __name__ == "__main__":
    main()
