/**
 * The README's run command: `npm start` serves Jupyter on 127.0.0.1 with notebooks/ open; a client
 * (JupyterLab's own @jupyterlab/services) starts the vmaplab kernel there and runs a TypeScript cell
 * that computes on the WebGPU device.
 */
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import { KernelManager, ServerConnection, type KernelMessage } from "@jupyterlab/services";
import WebSocket from "ws";
import { freePort } from "./helpers/jupyter.js";

const root = path.resolve(import.meta.dirname, "../..");
const token = "vmaplab-test-token";
let server: ChildProcess;
let port: number;
let banner = "";

describe("npm start serves notebooks with the vmaplab kernel", () => {
  before(async () => {
    port = await freePort();
    server = spawn(process.execPath, [path.join(root, "scripts/serve.mjs"), "--port", String(port)], {
      cwd: root,
      env: { ...process.env, VMAPLAB_TOKEN: token },
      stdio: ["ignore", "pipe", "pipe"],
      detached: true,
    });
    let log = "";
    server.stderr!.on("data", (d: Buffer) => (log += d.toString()));
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`server did not start:\n${banner}\n${log}`)), 60_000);
      server.stdout!.on("data", (d: Buffer) => {
        banner += d.toString();
        if (banner.includes("vmaplab: open")) {
          clearTimeout(timer);
          resolve();
        }
      });
      server.on("exit", (code) => reject(new Error(`server exited with ${code}:\n${banner}\n${log}`)));
    });
  });

  after(() => {
    if (server.pid) process.kill(-server.pid, "SIGTERM");
  });

  it("prints the URL with its token on 127.0.0.1", () => {
    assert.match(banner, new RegExp(`http://127\\.0\\.0\\.1:${port}/(tree|lab)\\?token=${token}`));
  });

  it("has notebooks/ open", async () => {
    const res = await fetch(`http://127.0.0.1:${port}/api/contents?token=${token}`);
    assert.equal(res.status, 200);
    const listing = (await res.json()) as { content: { name: string }[] };
    assert.ok(
      listing.content.some((c) => c.name === "00-first-steps.ipynb"),
      JSON.stringify(listing.content.map((c) => c.name)),
    );
  });

  it("runs a TypeScript cell on the WebGPU device through the server", async () => {
    const serverSettings = ServerConnection.makeSettings({
      baseUrl: `http://127.0.0.1:${port}/`,
      wsUrl: `ws://127.0.0.1:${port}/`,
      token,
      WebSocket: WebSocket as unknown as typeof globalThis.WebSocket,
    });
    const manager = new KernelManager({ serverSettings });
    const specs = await (await fetch(`http://127.0.0.1:${port}/api/kernelspecs?token=${token}`)).json();
    assert.ok(
      (specs as { kernelspecs: Record<string, unknown> }).kernelspecs.vmaplab,
      "vmaplab kernelspec is registered",
    );
    const kernel = await manager.startNew({ name: "vmaplab" });
    try {
      const outputs: KernelMessage.IIOPubMessage[] = [];
      const future = kernel.requestExecute({
        code: "const a = jnp.array([1, 2, 3]);\n[defaultDevice().id, await jnp.mul(a, a).tolist()]",
      });
      future.onIOPub = (msg) => {
        outputs.push(msg);
      };
      const reply = await future.done;
      assert.equal(reply.content.status, "ok");
      const result = outputs.find((m) => m.header.msg_type === "execute_result") as
        KernelMessage.IExecuteResultMsg | undefined;
      assert.equal(result?.content.data["text/plain"], "[ 'webgpu:0', [ 1, 4, 9 ] ]");
    } finally {
      await kernel.shutdown();
      manager.dispose();
    }
  });
});
