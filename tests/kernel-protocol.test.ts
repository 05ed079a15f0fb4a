/**
 * The kernel as Jupyter clients see it: started from its installed kernelspec by Debian's
 * jupyter_client (tests/python/kernel_protocol.py), which records every reply and iopub message.
 */
import assert from "node:assert/strict";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { before, describe, it } from "node:test";
import { JUPYTER_PYTHON, run } from "./helpers/jupyter.js";

interface Observed {
  reply: Record<string, unknown> & { status: string; execution_count: number };
  iopub: { msg_type: string; content: Record<string, unknown> }[];
}
type Transcript = Record<string, Observed> & {
  kernel_info: Record<string, unknown> & { language_info: Record<string, unknown> };
  bad_signature_answered: boolean;
  alive_after_shutdown: boolean;
  stderr_log: string;
};

const script = path.resolve(import.meta.dirname, "../../tests/python/kernel_protocol.py");
let t: Transcript;

const result = (o: Observed) =>
  o.iopub.find((m) => m.msg_type === "execute_result")?.content as
    { data: Record<string, string> } | undefined;

describe("kernel protocol via jupyter_client", () => {
  before(async () => {
    const log = path.join(mkdtempSync(path.join(tmpdir(), "vmaplab-")), "kernel.log");
    const r = await run(JUPYTER_PYTHON, [script, log], { timeoutMs: 240_000 });
    assert.equal(r.code, 0, `protocol driver failed:\n${r.stderr}`);
    t = JSON.parse(r.stdout) as Transcript;
  });

  it("answers kernel_info with TypeScript's language_info", () => {
    assert.equal(t.kernel_info.status, "ok");
    assert.equal(t.kernel_info.protocol_version, "5.3");
    assert.equal(t.kernel_info.implementation, "vmaplab");
    assert.equal(t.kernel_info.language_info.name, "typescript");
    assert.equal(t.kernel_info.language_info.file_extension, ".ts");
  });

  it("keeps top-level bindings across cells: const x = 2, then x * 21 is 42", () => {
    assert.equal(t.declare.reply.status, "ok");
    assert.equal(result(t.declare), undefined, "a declaration has no result");
    assert.equal(t.answer.reply.status, "ok");
    assert.equal(t.answer.reply.execution_count, t.declare.reply.execution_count + 1);
    assert.equal(result(t.answer)?.data["text/plain"], "42");
  });

  it("brackets each request with busy and idle, and echoes the input", () => {
    const types = t.answer.iopub.map((m) =>
      m.msg_type === "status" ? `status:${m.content.execution_state}` : m.msg_type,
    );
    assert.deepEqual(types, ["status:busy", "execute_input", "execute_result", "status:idle"]);
  });

  it("streams stdout and stderr", () => {
    const streams = t.print.iopub
      .filter((m) => m.msg_type === "stream")
      .map((m) => [m.content.name, m.content.text]);
    assert.deepEqual(streams, [
      ["stdout", "hello 2\n"],
      ["stderr", "oops\n"],
    ]);
  });

  it("reports a thrown error with its message and the cell's own line, and stays alive", () => {
    assert.equal(t.throw.reply.status, "error");
    assert.equal(t.throw.reply.ename, "Error");
    assert.equal(t.throw.reply.evalue, "boom 1");
    const tb = (t.throw.reply.traceback as string[]).join("\n");
    assert.match(tb, /cell\[\d+\]:2:7/, tb);
    assert.match(tb, /2 \| throw new Error\('boom ' \+ y\)/);
    assert.ok(t.throw.iopub.some((m) => m.msg_type === "error"));
    assert.equal(result(t.after_throw)?.data["text/plain"], "3");
  });

  it("displays an engine array computed on the WebGPU device", () => {
    assert.equal(result(t.device)?.data["text/plain"], "'webgpu:0'");
    // 2*sin([0, 1, 2]) = [0, 1.6829419, 1.8185949]
    assert.equal(
      result(t.array)?.data["text/plain"],
      "Array([0.       , 1.6829419, 1.8185948], dtype=float32)",
    );
  });

  it("lets a re-run cell redeclare a const", () => {
    assert.equal(result(t.redeclare)?.data["text/plain"], "5");
  });

  it("ignores a message with a bad signature and logs it", () => {
    assert.equal(t.bad_signature_answered, false);
    assert.equal(result(t.after_bad_signature)?.data["text/plain"], "'undefined'");
    assert.match(t.stderr_log, /ignoring an invalid signature on the shell channel/);
  });

  it("shuts down on request", () => {
    assert.equal(t.alive_after_shutdown, false);
  });
});
