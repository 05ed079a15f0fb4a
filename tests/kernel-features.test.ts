/**
 * What a JupyterLab user does in a TypeScript notebook, checked through Debian's jupyter_client
 * (tests/python/kernel_features.py records the kernel's replies and outputs; we assert on them).
 */
import assert from "node:assert/strict";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { before, describe, it } from "node:test";
import { JUPYTER_PYTHON, run } from "./helpers/jupyter.js";

interface Out {
  msg_type: string;
  content: Record<string, unknown>;
}
interface Observed {
  reply: (Record<string, unknown> & { status: string }) | null;
  iopub: Out[];
  inputs: Record<string, unknown>[];
  seconds_to_stop?: number;
}
type Transcript = Record<string, unknown>;

const script = path.resolve(import.meta.dirname, "../../tests/python/kernel_features.py");
let t: Transcript;
const o = (k: string) => t[k] as Observed;
const outputs = (k: string, type: string) =>
  o(k)
    .iopub.filter((m) => m.msg_type === type)
    .map((m) => m.content);
const resultText = (k: string) =>
  (outputs(k, "execute_result")[0]?.data as Record<string, string> | undefined)?.["text/plain"];
const reply = (k: string) => o(k).reply as Record<string, unknown>;

describe("kernel features via jupyter_client", () => {
  before(async () => {
    const dir = mkdtempSync(path.join(tmpdir(), "vmaplab-features-"));
    const r = await run(
      JUPYTER_PYTHON,
      [script, path.join(dir, "kernel.log"), path.join(dir, "history.jsonl")],
      { timeoutMs: 420_000 },
    );
    assert.equal(r.code, 0, `feature driver failed:\n${r.stderr}`);
    t = JSON.parse(r.stdout) as Transcript;
    assert.equal(t.exception, undefined, String(t.exception));
  });

  it("suppresses the result after a trailing semicolon, and publishes nothing when silent", () => {
    assert.equal(reply("semicolon").status, "ok");
    assert.deepEqual(outputs("semicolon", "execute_result"), []);
    assert.deepEqual(
      o("silent").iopub.map((m) => m.msg_type),
      ["status", "status"],
    );
    assert.equal(
      reply("silent").execution_count,
      reply("semicolon").execution_count,
      "silent does not count",
    );
  });

  it("evaluates user_expressions", () => {
    const ue = reply("user_expressions").user_expressions as Record<string, Record<string, unknown>>;
    assert.deepEqual(ue.double, { status: "ok", data: { "text/plain": "80" }, metadata: {} });
    assert.equal(ue.bad.status, "error");
    assert.equal(ue.bad.ename, "ReferenceError");
    assert.ok(
      (ue.bad.traceback as string[]).every((line) => !line.includes("/kernel/")),
      String(ue.bad.traceback),
    );
  });

  it("displays raw bundles, updatable displays, clear_output, in order with streams", () => {
    const types = o("display").iopub.map((m) => m.msg_type);
    assert.deepEqual(types, [
      "status",
      "execute_input",
      "display_data",
      "display_data",
      "update_display_data",
      "clear_output",
      "stream",
      "status",
    ]);
    const [raw, first] = outputs("display", "display_data");
    assert.deepEqual(raw.data, { "text/html": "<b>hi</b>" });
    assert.deepEqual(first.data, { "text/plain": "'first'" });
    assert.deepEqual(first.transient, { display_id: "d1" });
    const [update] = outputs("display", "update_display_data");
    assert.deepEqual(update.data, { "text/plain": "'second'" });
    assert.deepEqual(update.transient, { display_id: "d1" });
    assert.deepEqual(outputs("display", "clear_output")[0], { wait: true });
  });

  it("renders arrays as JAX text plus an HTML table, and self-describing objects as they ask", () => {
    const data = outputs("array_html", "execute_result")[0].data as Record<string, string>;
    assert.equal(data["text/plain"], "Array([[1., 2.],\n       [3., 4.]], dtype=float32)");
    assert.match(
      data["text/html"],
      /<table class="vmaplab-array">.*<td>1<\/td><td>2<\/td>.*<td>3<\/td><td>4<\/td>/,
    );
    assert.deepEqual(outputs("self_display", "execute_result")[0].data, { "text/markdown": "**md**" });
    assert.deepEqual(outputs("tslab", "display_data")[0].data, { "text/html": "<i>t</i>" });
  });

  it("asks for input on stdin and refuses when the front end does not allow it", () => {
    assert.deepEqual(o("stdin").inputs, [{ prompt: "Your name? ", password: false }]);
    assert.equal(resultText("stdin"), "'hello Ada'");
    assert.equal(reply("stdin_refused").status, "error");
    assert.match(String(reply("stdin_refused").evalue), /allow_stdin is false/);
  });

  it("streams output while a cell is still running", () => {
    const streams = outputs("stream_while_running", "stream").map((c) => c.text);
    assert.deepEqual(streams, ["one\n", "two\n"]);
  });

  for (const k of [
    "interrupt_sync",
    "interrupt_await",
    "interrupt_after_await",
    "sigint_sync",
    "sigint_await",
    "sigint_after_await",
    "sigint_prompt",
  ]) {
    const [how, what] = k.split(/_(.*)/);
    it(`interrupts a running cell (${what}) by ${how === "sigint" ? "SIGINT" : "interrupt_request"} and keeps the kernel's state`, () => {
      assert.equal(reply(k).status, "error");
      assert.equal(reply(k).ename, "KeyboardInterrupt");
      assert.ok((o(k).seconds_to_stop ?? 99) < 5, `took ${o(k).seconds_to_stop}s`);
      // Only frames that help the user: none of the kernel's own.
      assert.deepEqual(reply(k).traceback, ["KeyboardInterrupt: the cell was interrupted"]);
    });
  }

  it("still has its state after the interrupts", () => {
    assert.equal(resultText("after_interrupts"), "81");
    // The loops stopped by SIGINT ran in the same state (they advanced the same counter).
    assert.ok(Number(resultText("spins_after_interrupts")) > Number(resultText("spins_before_sigint")));
  });

  it("aborts queued cells after an error (stop_on_error)", () => {
    const abort = t.abort as Observed[];
    assert.deepEqual(
      abort.map((a) => a.reply?.status),
      ["error", "aborted", "aborted"],
    );
    assert.equal(resultText("after_abort"), "'undefined'");
  });

  it("completes names of the engine and of earlier cells", () => {
    const r = reply("complete");
    assert.deepEqual(r.matches, ["sub", "subtract", "sum"]);
    assert.equal(r.cursor_start, 4);
    assert.equal(r.cursor_end, 6);
    assert.deepEqual(reply("complete_history").matches, ["twice"]);
  });

  it("inspects signatures and doc comments", () => {
    assert.deepEqual(
      (reply("inspect").data as Record<string, string>)["text/plain"],
      "function twice(n: number): number",
    );
    assert.match(
      (reply("inspect_doc").data as Record<string, string>)["text/plain"],
      /const documented: .*\n\nA documented constant\./,
    );
  });

  it("warns about type errors without stopping the cell", () => {
    assert.equal(resultText("type_warning"), "42");
    const warnings = outputs("type_warning", "stream")
      .filter((c) => c.name === "stderr")
      .map((c) => String(c.text));
    assert.match(
      warnings.join(""),
      /TypeScript: line 1, column 7: Type 'number' is not assignable to type 'string'/,
    );
  });

  it("type-checks named imports of Node built-ins (functions and classes) without false warnings", () => {
    assert.equal(resultText("import_named"), "'function'");
    const stderr = outputs("import_named", "stream").filter((c) => c.name === "stderr");
    assert.deepEqual(stderr, [], "no type warning");
  });

  it("re-runs a cell that declares many names without a conflict warning", () => {
    for (const k of ["rerun_first", "rerun_second"]) {
      assert.equal(resultText(k), "10");
      const stderr = outputs(k, "stream").filter((c) => c.name === "stderr");
      assert.deepEqual(stderr, [], `${k}: no type warning`);
    }
  });

  it("runs magics: %lsmagic, %jaxpr, %timeit (IPython's format, -o), %time, and rejects unknown ones", () => {
    const stdout = (k: string) =>
      outputs(k, "stream")
        .filter((c) => c.name === "stdout")
        .map((c) => String(c.text))
        .join("");
    assert.match(stdout("magic_ls"), /Available line magics:\n.*%jaxpr.*%timeit/);
    const jaxpr = (outputs("magic_jaxpr", "display_data")[0].data as Record<string, string>)["text/plain"];
    assert.equal(
      jaxpr,
      "{ lambda ; a:f32[2]. let\n    b:f32[2] = sin a\n    c:f32[2] = mul b 2.0:f32[]\n  in (c,) }",
    );
    assert.match(
      stdout("magic_timeit"),
      /^(The slowest run took [\d.]+ times longer than the fastest\. This could mean that an intermediate result is being cached\.\n)?[\d.]+ (s|ms|µs|ns) ± [\d.]+ (s|ms|µs|ns) per loop \(mean ± std\. dev\. of 2 runs, 3 loops each\)\n$/,
    );
    assert.match(String(resultText("magic_timeit")), /^<TimeitResult : .* per loop/);
    assert.match(stdout("magic_time"), /^CPU times: user .+, sys: .+, total: .+\nWall time: .+\n$/);
    assert.equal(resultText("magic_time"), "Array(2., dtype=float32)");
    assert.equal(reply("magic_unknown").ename, "UsageError");
    assert.match(String(reply("magic_unknown").evalue), /Line magic function `%frobnicate` not found/);
    assert.match(String(reply("magic_bad_args").evalue), /-n needs a positive integer, got 'zero'/);
  });

  it("%typecheck strict stops a cell with type errors", () => {
    const [, strict] = t.magic_strict as Observed[];
    assert.equal(strict.reply?.status, "error");
    assert.match(
      (strict.reply?.traceback as string[]).join("\n"),
      /Type 'number' is not assignable to type 'string'/,
    );
    assert.deepEqual(
      strict.iopub.filter((m) => m.msg_type === "stream"),
      [],
      "the cell did not run",
    );
  });

  it("tells complete, incomplete (with indent) and invalid code apart", () => {
    assert.deepEqual(t.is_complete, {
      "const a = 1": { status: "complete" },
      "function f() {": { status: "incomplete", indent: "  " },
      "const s = `abc": { status: "incomplete", indent: "" },
      "const b = )": { status: "invalid" },
      "foo(1,": { status: "incomplete", indent: "  " },
    });
  });

  it("answers history requests (tail and search) and keeps history across restarts", () => {
    const tail = reply("history_tail").history as [number, number, string][];
    assert.equal(tail.length, 3);
    const search = reply("history_search").history as [number, number, string][];
    assert.ok(search.length >= 1 && search.every(([, , src]) => src.startsWith("twice(base)")));
    const after = reply("history_after_restart").history as [number, number, string][];
    assert.ok(
      after.some(([, , src]) => src.startsWith("const base = 40")),
      "history survives a restart",
    );
  });

  it("answers an unknown request type with an error reply", () => {
    assert.equal(reply("unknown").status, "error");
    assert.equal(reply("unknown").ename, "UnknownMessageType");
  });

  it("runs comms registered from TypeScript", () => {
    assert.deepEqual(reply("comm_info").comms, {});
    assert.deepEqual(outputs("comm_open", "comm_msg")[0], { comm_id: "c1", data: { opened: { x: 1 } } });
    assert.deepEqual(outputs("comm_msg", "comm_msg")[0], { comm_id: "c1", data: { echo: { y: 2 } } });
    assert.deepEqual(reply("comm_info_after").comms, { c1: { target_name: "echo" } });
  });

  it("survives malformed messages and a flood of 1000 requests, losing none", () => {
    assert.equal(t.malformed_answered, false);
    assert.deepEqual(t.flood, { ...(t.flood as object), sent: 1000, replied: 1000, ok: 1000 });
    assert.equal(resultText("alive_after_flood"), "42");
    assert.match(String(t.stderr_log), /ignoring an invalid signature/);
    assert.match(String(t.stderr_log), /the header lacks 'msg_id'/);
    assert.match(String(t.stderr_log), /a malformed message \(.*JSON/);
    assert.match(String(t.stderr_log), /the content is not an object/);
  });

  it("restarts into a clean state and shuts down promptly after using the GPU", () => {
    assert.equal(resultText("uses_gpu"), "[ 2, 2, 2, 2 ]");
    assert.equal(resultText("after_restart"), "'undefined'");
    assert.equal(t.alive_after_shutdown, false);
    // Generous bound: the failure it guards against is a process kept alive by Dawn (never exits).
    assert.ok((t.shutdown_seconds as number) < 5, `shutdown took ${t.shutdown_seconds}s`);
  });
});
