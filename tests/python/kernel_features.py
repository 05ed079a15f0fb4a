"""Drives the installed vmaplab kernel through the features a JupyterLab user relies on, with
Debian's jupyter_client, and prints what it observed as JSON (assertions: tests/kernel-features.test.ts).
Usage: /usr/bin/python3 tests/python/kernel_features.py STDERR_LOG_PATH HISTORY_FILE
"""
import json
import os
import signal
import sys
import time

import zmq
from jupyter_client.manager import KernelManager

from kernel_driver import TIMEOUT, collect, poll, run

def interrupt_case(km, kc, code, sigint=False):
    """Interrupts a running cell: by the kernelspec's interrupt_mode (an interrupt_request), or by SIGINT."""
    msg_id = kc.execute(code, allow_stdin=True)
    time.sleep(1.0)
    t0 = time.time()
    if sigint:
        km.signal_kernel(signal.SIGINT)  # to the kernel's process group, as interrupt_mode "signal" does
    else:
        km.interrupt_kernel()
    out = collect(kc, msg_id)
    out["seconds_to_stop"] = time.time() - t0
    return out


def shell_request(kc, msg_type, content):
    msg = kc.session.msg(msg_type, content)
    kc.shell_channel.send(msg)
    return collect(kc, msg["header"]["msg_id"])


def main():
    log_path, history_file = sys.argv[1], sys.argv[2]
    os.environ["VMAPLAB_HISTORY"] = history_file
    out = {}
    km = KernelManager(kernel_name="vmaplab")
    log = open(log_path, "w")  # stays open: a restart launches the kernel with it again
    km.start_kernel(stderr=log, stdout=log, env={**os.environ, "VMAPLAB_HISTORY": history_file})
    kc = km.client()
    kc.start_channels()
    try:
        kc.wait_for_ready(timeout=TIMEOUT)
        out["setup"] = run(kc, "const base = 40;\nfunction twice(n: number): number { return 2 * n; }\n/** A documented constant. */\nconst documented = jnp.ones([2]);")
        out["semicolon"] = run(kc, "base + 2;")
        out["silent"] = run(kc, "base + 3", silent=True)
        out["user_expressions"] = run(kc, "1", user_expressions={"double": "twice(base)", "bad": "nope.x"})
        out["display"] = run(kc, 'display({"text/html": "<b>hi</b>"}, {raw: true});\nconst h = display("first", {displayId: "d1"});\nh.update("second");\nclearOutput({wait: true});\nconsole.log("after")')
        out["array_html"] = run(kc, "jnp.array([[1, 2], [3, 4]])")
        out["self_display"] = run(kc, '({ [Symbol.for("Jupyter.display")]() { return {"text/markdown": "**md**"}; } })')
        out["tslab"] = run(kc, 'import * as tslab from "tslab";\ntslab.display.html("<i>t</i>");')
        out["stdin"] = run(kc, 'const answer = prompt("Your name? ");\n`hello ${answer}`', stdin_answer="Ada")
        out["stdin_refused"] = run(kc, 'prompt("x")', allow_stdin=False)
        out["stream_while_running"] = run(kc, 'console.log("one");\nawait new Promise((r) => setTimeout(r, 300));\nconsole.log("two");')

        out["interrupt_sync"] = interrupt_case(km, kc, "let spins = 0;\nwhile (true) { spins++; }")
        out["interrupt_await"] = interrupt_case(km, kc, "await new Promise(() => {});")
        out["interrupt_after_await"] = interrupt_case(km, kc, "await null;\nwhile (true) {}")
        out["spins_before_sigint"] = run(kc, "spins")
        out["sigint_sync"] = interrupt_case(km, kc, "while (true) { spins++; }", sigint=True)
        out["sigint_await"] = interrupt_case(km, kc, "await new Promise(() => {});", sigint=True)
        out["sigint_after_await"] = interrupt_case(km, kc, "await null;\nwhile (true) { spins++; }", sigint=True)
        out["sigint_prompt"] = interrupt_case(km, kc, 'prompt("never answered")', sigint=True)
        out["after_interrupts"] = run(kc, "twice(base) + 1")
        out["spins_after_interrupts"] = run(kc, "spins")

        # stop_on_error: a failing cell aborts the cells queued behind it.
        ids = [kc.execute("throw new Error('first')"), kc.execute("globalThis.ranAfter = true"), kc.execute("3")]
        out["abort"] = [collect(kc, i) for i in ids]
        out["after_abort"] = run(kc, "typeof globalThis.ranAfter")

        out["complete"] = shell_request(kc, "complete_request", {"code": "jnp.su", "cursor_pos": 6})
        out["complete_history"] = shell_request(kc, "complete_request", {"code": "twi", "cursor_pos": 3})
        out["inspect"] = shell_request(kc, "inspect_request", {"code": "twice(1)", "cursor_pos": 3, "detail_level": 0})
        out["inspect_doc"] = shell_request(kc, "inspect_request", {"code": "documented", "cursor_pos": 5, "detail_level": 1})
        out["type_warning"] = run(kc, 'const typed: string = 42;\ntyped')
        # Named imports of a Node built-in: a function (a value only) and a class (a value and a type).
        out["import_named"] = run(kc, 'import { execFileSync } from "node:child_process";\nimport { EventEmitter } from "node:events";\nconst emitter: EventEmitter = new EventEmitter();\ntypeof execFileSync')
        # Re-running a cell that declares many names: TypeScript reports the conflicts with the
        # earlier run in one aggregated diagnostic (TS6200), which is no more an error than TS2451.
        many = "const [ra, rb, rc] = [1, 2, 3];\nlet rd = 4, re = 5, rf = 6;\nconst rg = 7, rh = 8, ri = 9;\nra + ri"
        out["rerun_first"] = run(kc, many)
        out["rerun_second"] = run(kc, many)
        out["magic_ls"] = run(kc, "%lsmagic")
        out["magic_jaxpr"] = run(kc, "const mf = (x: typeof documented) => jnp.sin(x).mul(2);\n%jaxpr mf(documented)")
        out["magic_timeit"] = run(kc, "%timeit -n 3 -r 2 -o jnp.add(documented, 1)")
        out["magic_time"] = run(kc, "%time jnp.sum(documented)")
        out["magic_unknown"] = run(kc, "%frobnicate")
        out["magic_bad_args"] = run(kc, "%timeit -n zero 1+1")
        out["magic_strict"] = [run(kc, "%typecheck strict"), run(kc, "const notString: string = 3;\nconsole.log('ran')"), run(kc, "%typecheck on")]
        out["is_complete"] = {
            code: shell_request(kc, "is_complete_request", {"code": code})["reply"]
            for code in ["const a = 1", "function f() {", "const s = `abc", "const b = )", "foo(1,"]
        }
        out["history_tail"] = shell_request(kc, "history_request", {"hist_access_type": "tail", "n": 3, "output": False, "raw": True})
        out["history_search"] = shell_request(kc, "history_request", {"hist_access_type": "search", "pattern": "twice(base)*", "output": False, "raw": True})
        out["unknown"] = shell_request(kc, "frobnicate_request", {})
        out["comm_info"] = shell_request(kc, "comm_info_request", {})

        # comms: a target registered from TypeScript echoes what the front end sends.
        out["comm_register"] = run(kc, 'comms.registerTarget("echo", (comm, data) => { comm.send({ opened: data }); comm.onMsg((d) => comm.send({ echo: d })); });')
        comm_open = kc.session.msg("comm_open", {"comm_id": "c1", "target_name": "echo", "data": {"x": 1}})
        kc.shell_channel.send(comm_open)
        out["comm_open"] = collect(kc, comm_open["header"]["msg_id"], expect_reply=False)
        comm_msg = kc.session.msg("comm_msg", {"comm_id": "c1", "data": {"y": 2}})
        kc.shell_channel.send(comm_msg)
        out["comm_msg"] = collect(kc, comm_msg["header"]["msg_id"], expect_reply=False)
        out["comm_info_after"] = shell_request(kc, "comm_info_request", {"target_name": "echo"})

        # Robustness: malformed frames on the shell socket, then a flood of requests.
        ctx = zmq.Context.instance()
        sock = ctx.socket(zmq.DEALER)
        sock.connect(f"{km.transport}://{km.ip}:{km.shell_port}")
        good = kc.session.msg("execute_request", {"code": "1"})
        def signed(parts):
            frames = [json.dumps(p, default=str).encode() for p in parts]
            return [b"<IDS|MSG>", kc.session.sign(frames)] + frames
        sock.send_multipart([b"<IDS|MSG>", b"sig", b"{not json", b"{}", b"{}", b"{}"])
        sock.send_multipart(signed([{"msg_type": "execute_request"}, {}, {}, {"code": "1"}]))  # no msg_id
        sock.send_multipart([b"no delimiter at all"])
        sock.send_multipart([b"<IDS|MSG>", kc.session.sign([b"{not json", b"{}", b"{}", b"{}"]), b"{not json", b"{}", b"{}", b"{}"])  # signed, not JSON
        sock.send_multipart(signed([{"msg_id": "x1", "msg_type": "execute_request"}, {}, {}, "a string"]))  # content not an object
        out["malformed_answered"] = sock.poll(1500) != 0
        sock.close(0)
        t0 = time.time()
        flood_ids = [kc.execute(f"{i} * 2", store_history=False) for i in range(1000)]
        replies = {}
        while len(replies) < len(flood_ids) and time.time() - t0 < 300:
            m = poll(lambda timeout: kc.get_shell_msg(timeout=20))
            if m is None:
                break
            replies[m["parent_header"]["msg_id"]] = m["content"]
        out["flood"] = {
            "sent": len(flood_ids),
            "replied": sum(1 for i in flood_ids if i in replies),
            "ok": sum(1 for i in flood_ids if replies.get(i, {}).get("status") == "ok"),
            "seconds": time.time() - t0,
        }
        while poll(kc.get_iopub_msg) is not None:
            pass
        out["alive_after_flood"] = run(kc, "twice(21)")

        # Restart: a new process with a clean state.
        out["uses_gpu"] = run(kc, "await jnp.add(jnp.ones([4]), 1).tolist()")
        km.restart_kernel(now=False)
        kc.wait_for_ready(timeout=TIMEOUT)
        out["after_restart"] = run(kc, "typeof base")
        out["history_after_restart"] = shell_request(kc, "history_request", {"hist_access_type": "tail", "n": 50, "output": False, "raw": True})

        # Shutdown after using the GPU exits promptly.
        run(kc, "await jnp.add(jnp.ones([4]), 1).tolist()")
        t0 = time.time()
        kc.shutdown()
        while km.is_alive() and time.time() - t0 < 30:
            time.sleep(0.02)
        out["shutdown_seconds"] = time.time() - t0
        out["alive_after_shutdown"] = km.is_alive()
    except Exception as e:  # report what was observed up to the failure
        import traceback
        out["exception"] = traceback.format_exc()
    finally:
        kc.stop_channels()
        if km.is_alive():
            km.shutdown_kernel(now=True)
    log.close()
    with open(log_path) as f:
        out["stderr_log"] = f.read()
    print(json.dumps(out, default=str))


if __name__ == "__main__":
    main()
