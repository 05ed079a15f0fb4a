/**
 * The kernel behind a real `jupyter server` (Debian's jupyter-server, on 127.0.0.1), driven by
 * JupyterLab's own client library @jupyterlab/services: execute and outputs, input, completion,
 * inspection, interrupt and restart — what JupyterLab does when a user works in a notebook.
 */
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import { KernelManager, ServerConnection, type Kernel, type KernelMessage } from "@jupyterlab/services";
import WebSocket from "ws";
import { JUPYTER_PYTHON, freePort } from "./helpers/jupyter.js";

const token = "vmaplab-server-test";
let server: ChildProcess;
let manager: KernelManager;
let kernel: Kernel.IKernelConnection;

/** Runs code; returns the reply and the iopub messages (answering input requests with `input`). */
async function execute(code: string, input?: string) {
  const future = kernel.requestExecute({ code, allow_stdin: input !== undefined, stop_on_error: false });
  const iopub: KernelMessage.IIOPubMessage[] = [];
  future.onIOPub = (m) => void iopub.push(m);
  if (input !== undefined)
    future.onStdin = (m) =>
      kernel.sendInputReply(
        { status: "ok", value: input },
        m.header as KernelMessage.IHeader<"input_request">,
      );
  const reply = await future.done;
  return { reply: reply.content, iopub };
}

const result = (iopub: KernelMessage.IIOPubMessage[]) =>
  (iopub.find((m) => m.header.msg_type === "execute_result") as KernelMessage.IExecuteResultMsg | undefined)
    ?.content.data["text/plain"];

describe("a real jupyter server with @jupyterlab/services", () => {
  before(async () => {
    const port = await freePort();
    const root = mkdtempSync(path.join(tmpdir(), "vmaplab-server-"));
    const args = [
      "-m",
      "jupyter_server",
      "--no-browser",
      "--ip=127.0.0.1",
      `--port=${port}`,
      `--ServerApp.token=${token}`,
      `--ServerApp.root_dir=${root}`,
    ];
    if (process.getuid?.() === 0) args.push("--allow-root");
    server = spawn(JUPYTER_PYTHON, args, { stdio: ["ignore", "pipe", "pipe"] });
    let log = "";
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`jupyter server did not start:\n${log}`)), 60_000);
      const onData = (d: Buffer) => {
        log += d.toString();
        if (/is running at|Jupyter Server .* is running/.test(log)) {
          clearTimeout(timer);
          resolve();
        }
      };
      server.stdout!.on("data", onData);
      server.stderr!.on("data", onData);
      server.on("exit", (code) => reject(new Error(`jupyter server exited (${code}):\n${log}`)));
    });
    const serverSettings = ServerConnection.makeSettings({
      baseUrl: `http://127.0.0.1:${port}/`,
      wsUrl: `ws://127.0.0.1:${port}/`,
      token,
      WebSocket: WebSocket as unknown as typeof globalThis.WebSocket,
    });
    manager = new KernelManager({ serverSettings });
    kernel = await manager.startNew({ name: "vmaplab" });
  });

  after(async () => {
    await kernel?.shutdown().catch(() => {});
    manager?.dispose();
    server?.kill("SIGTERM");
  });

  it("executes cells, keeping state, with streams and results", async () => {
    await execute("const w = jnp.array([1, 2, 3]);");
    const { reply, iopub } = await execute('console.log("sum follows");\nawait jnp.sum(w).item()');
    assert.equal(reply.status, "ok");
    const stream = iopub.find((m) => m.header.msg_type === "stream") as KernelMessage.IStreamMsg;
    assert.equal(stream.content.text, "sum follows\n");
    assert.equal(result(iopub), "6");
  });

  it("answers input requests", async () => {
    const { iopub } = await execute('prompt("name?") + "!"', "Grace");
    assert.equal(result(iopub), "'Grace!'");
  });

  it("completes and inspects", async () => {
    const c = await kernel.requestComplete({ code: "jnp.lin", cursor_pos: 7 });
    assert.equal(c.content.status, "ok");
    assert.ok(
      (c.content as KernelMessage.ICompleteReplyMsg["content"] & { matches: string[] }).matches.includes(
        "linspace",
      ),
    );
    const i = await kernel.requestInspect({ code: "jnp.linspace", cursor_pos: 8, detail_level: 0 });
    assert.equal(i.content.status, "ok");
    assert.match(
      String((i.content as KernelMessage.IInspectReply).data["text/plain"]),
      /function linspace\(/,
    );
  });

  it("interrupts a busy loop through the server and keeps the state", async () => {
    const running = execute("while (true) {}");
    await new Promise((r) => setTimeout(r, 800));
    await kernel.interrupt();
    const { reply } = await running;
    assert.equal(reply.status, "error");
    assert.equal((reply as KernelMessage.IReplyErrorContent).ename, "KeyboardInterrupt");
    const after = await execute("await w.tolist()");
    assert.equal(result(after.iopub), "[ 1, 2, 3 ]");
  });

  it("restarts into a clean state", async () => {
    await kernel.restart();
    const { iopub } = await execute("typeof w");
    assert.equal(result(iopub), "'undefined'");
  });
});
