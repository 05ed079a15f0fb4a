"""What the kernel test drivers share: running a request and collecting its reply and iopub messages."""
import time
from queue import Empty

TIMEOUT = 120


def poll(get):
    try:
        return get(timeout=0.005)
    except Empty:
        return None


def collect(kc, msg_id, stdin_answer=None, expect_reply=True):
    """The shell reply and iopub messages of one request (answering input requests if asked)."""
    reply = None
    iopub = []
    idle = False
    inputs = []
    deadline = time.time() + TIMEOUT
    while ((expect_reply and reply is None) or not idle) and time.time() < deadline:
        if stdin_answer is not None:
            req = poll(kc.get_stdin_msg)
            if req is not None:
                inputs.append(req["content"])
                kc.input(stdin_answer)
        if reply is None:
            m = poll(kc.get_shell_msg)
            if m is not None and m["parent_header"].get("msg_id") == msg_id:
                reply = m["content"]
        m = poll(kc.get_iopub_msg)
        if m is not None and m["parent_header"].get("msg_id") == msg_id:
            iopub.append({"msg_type": m["msg_type"], "content": m["content"]})
            if m["msg_type"] == "status" and m["content"]["execution_state"] == "idle":
                idle = True
    return {"reply": reply, "iopub": iopub, "inputs": inputs}


def run(kc, code, **kw):
    stdin_answer = kw.pop("stdin_answer", None)
    msg_id = kc.execute(code, allow_stdin=stdin_answer is not None or kw.pop("allow_stdin", False), **kw)
    return collect(kc, msg_id, stdin_answer)
