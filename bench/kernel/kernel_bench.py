"""Kernel latency benchmark with Debian's jupyter_client: start to kernel_info reply, the round trip
of a trivial cell (median of 50; to its reply and to its idle status; the same cell again and again,
and cells that differ each time, as a notebook's do), a completion request (median of 20 after
warm-up), and a loop over top-level variables against the same loop inside a function (how costly
the kernel's scoping is).
Usage: /usr/bin/python3 bench/kernel/kernel_bench.py KERNEL_NAME  (prints JSON)
"""
import json
import statistics
import sys
import time
from queue import Empty

from jupyter_client.manager import KernelManager

TIMEOUT = 120


def roundtrip(kc, code):
    t0 = time.perf_counter()
    msg_id = kc.execute(code)
    while True:
        m = kc.get_shell_msg(timeout=TIMEOUT)
        if m["parent_header"].get("msg_id") == msg_id:
            break
    elapsed = time.perf_counter() - t0
    # Drain iopub up to this request's idle so the next measurement starts clean.
    while True:
        try:
            m = kc.get_iopub_msg(timeout=TIMEOUT)
        except Empty:
            break
        if m["parent_header"].get("msg_id") == msg_id and m["msg_type"] == "status" and m["content"]["execution_state"] == "idle":
            break
    return elapsed, time.perf_counter() - t0


def result_text(kc, code):
    msg_id = kc.execute(code)
    text = None
    while True:
        m = kc.get_iopub_msg(timeout=TIMEOUT)
        if m["parent_header"].get("msg_id") != msg_id:
            continue
        if m["msg_type"] == "execute_result":
            text = m["content"]["data"]["text/plain"]
        elif m["msg_type"] == "stream" and text is None:
            text = m["content"]["text"].strip()  # tslab shows a cell's value as a stream
        if m["msg_type"] == "status" and m["content"]["execution_state"] == "idle":
            return text


def main():
    name = sys.argv[1]
    km = KernelManager(kernel_name=name)
    t0 = time.perf_counter()
    km.start_kernel(stderr=open("/dev/null", "w"))
    kc = km.client()
    kc.start_channels()
    kc.kernel_info()
    kc.get_shell_msg(timeout=TIMEOUT)
    start = time.perf_counter() - t0
    kc.wait_for_ready(timeout=TIMEOUT)
    # Steady state: let background loading finish (vmaplab's language service, which then
    # type-checks every cell) before timing cells.
    time.sleep(3)
    for _ in range(5):
        roundtrip(kc, "1+1")
    same = [roundtrip(kc, "1+1") for _ in range(50)]
    trivial = statistics.median(r[0] for r in same)
    trivial_idle = statistics.median(r[1] for r in same)
    varied = [roundtrip(kc, f"{i}+1") for i in range(50)]
    completions = []
    for i in range(25):
        c0 = time.perf_counter()
        msg_id = kc.complete("Math.ma", 7)
        while kc.get_shell_msg(timeout=TIMEOUT)["parent_header"].get("msg_id") != msg_id:
            pass
        if i >= 5:
            completions.append(time.perf_counter() - c0)
    complete = statistics.median(completions)
    # Top-level variables in a hot loop, against the same loop in a function (ms, inside the kernel).
    n = 2_000_000
    result_text(kc, f"let acc = 0; let i = 0; const n = {n};")
    top = float(result_text(kc, "const t0 = performance.now(); for (i = 0; i < n; i++) { acc += i; } performance.now() - t0"))
    local = float(result_text(kc, f"(() => {{ const s = performance.now(); let a = 0; for (let j = 0; j < {n}; j++) {{ a += j; }} return performance.now() - s; }})()"))
    kc.stop_channels()
    km.shutdown_kernel(now=True)
    print(json.dumps({"kernel": name, "start_s": start, "trivial_cell_ms": trivial * 1000,
                      "trivial_cell_idle_ms": trivial_idle * 1000,
                      "varied_cell_ms": statistics.median(r[0] for r in varied) * 1000,
                      "varied_cell_idle_ms": statistics.median(r[1] for r in varied) * 1000,
                      "complete_ms": complete * 1000,
                      "toplevel_loop_ms": top, "function_loop_ms": local}))


if __name__ == "__main__":
    main()
