/**
 * The protocol thread (a worker): owns the ZeroMQ sockets and the wire format, answers what needs no
 * user state (kernel_info, is_complete, history, interrupts, shutdown) even while a cell runs, and
 * hands execute and comm requests to the main thread one at a time, in order (ipykernel's shell
 * semantics). Dispatch is a table from msg_type to handler, as in ipykernel's kernelbase.
 */
import { Session } from "node:inspector";
import { constants as osConstants } from "node:os";
import { parentPort, workerData } from "node:worker_threads";
import * as zmq from "zeromq";
import { endpoint, readConnectionFile } from "./connection.js";
import { HistoryStore } from "./history-store.js";
import { log } from "./log.js";
import { LanguageClient } from "./language-client.js";
import {
  SHARED_HEADER_BYTES,
  SIGINT_WATCHED,
  STDIN_BYTES,
  STDIN_INTERRUPTED,
  STDIN_REPLIED,
  type ProtocolThreadData,
  type ToMain,
  type ToProtocol,
} from "./thread-messages.js";
import { InvalidSignatureError, PROTOCOL_VERSION, Wire, type JsonObject, type Message } from "./wire.js";

type Channel = "shell" | "control";
/** Node's internal libuv signal watcher (process.binding("signal_wrap")). */
interface SignalWrapBinding {
  Signal: new () => { onsignal: (signum: number) => void; start(signum: number): number; unref(): void };
}
type LocalHandler = (msg: Message, channel: Channel) => Promise<void>;

/** Requests the main thread handles (they touch the user's state), queued in arrival order. */
const FORWARDED = new Set(["execute_request", "comm_open", "comm_msg", "comm_close", "comm_info_request"]);

/**
 * Sends on one socket strictly one message at a time (zeromq allows one pending send per socket), in
 * the order of the calls: callers need not wait for a send to keep order (a request's busy status and
 * execute_input go out before its outputs without holding the request up).
 */
class SerialSender {
  private tail: Promise<void> = Promise.resolve();
  constructor(private readonly socket: zmq.Writable) {}
  send(frames: Buffer[]): Promise<void> {
    const next = this.tail.then(() => this.socket.send(frames));
    this.tail = next.catch((e: unknown) => log(`send failed: ${(e as Error).message}`));
    return this.tail;
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/**
 * How long a finished cell's idle waits for its type check at most. A check takes a few ms, but right
 * after start the language service may still be loading (once, about a second): waiting for it gives
 * a notebook run at once the same warnings as one run later.
 */
const TYPECHECK_GRACE_MS = 5000;

class ProtocolThread {
  private readonly data = workerData as ProtocolThreadData;
  private readonly connection = readConnectionFile(this.data.connectionFile);
  private readonly wire = new Wire(this.connection.key);
  private readonly shell = new zmq.Router();
  private readonly control = new zmq.Router();
  private readonly stdin = new zmq.Router();
  private readonly iopub = new zmq.Publisher();
  private readonly heartbeat = new zmq.Router();
  private readonly send = {
    shell: new SerialSender(this.shell),
    control: new SerialSender(this.control),
    stdin: new SerialSender(this.stdin),
    iopub: new SerialSender(this.iopub),
  };
  private readonly history = new HistoryStore(this.data.historyFile);
  private readonly shared = new Int32Array(this.data.sharedBuffer, 0, SHARED_HEADER_BYTES / 4);
  private readonly stdinBytes = new Uint8Array(this.data.sharedBuffer, SHARED_HEADER_BYTES, STDIN_BYTES);
  /** The TypeScript language service, in a thread of its own (language-thread.ts). */
  private readonly language = new LanguageClient({
    engineTypes: this.data.engineTypes,
    scopeNames: this.data.scopeNames,
  });

  private readonly requests = new Map<string, { msg: Message; channel: Channel }>();
  private latest: Message | undefined;
  private queue: { msg: Message; channel: Channel }[] = [];
  private running: { msg: Message; channel: Channel; done: () => void } | undefined;
  private typecheck: "on" | "off" | "strict" = process.env.VMAPLAB_TYPECHECK === "off" ? "off" : "on";
  private draining = false;
  private abortNext = false;
  private executionCount = 0;
  private interruptAcked = false;
  private interrupting: ProtocolThread["running"];
  private inspector: Session | undefined;

  private readonly handlers: Record<string, LocalHandler> = {
    kernel_info_request: (m, c) => this.kernelInfo(m, c),
    is_complete_request: async (m, c) => {
      const { isComplete } = await import("./is-complete.js"); // loads TypeScript's scanner on first use
      await this.reply(c, "is_complete_reply", isComplete(String(m.content.code ?? "")), m);
    },
    history_request: (m, c) => this.historyReply(m, c),
    complete_request: (m, c) => this.complete(m, c),
    inspect_request: (m, c) => this.inspect(m, c),
    interrupt_request: (m, c) => this.interrupt(m, c),
    shutdown_request: (m, c) => this.shutdown(m, c),
  };

  async start(): Promise<void> {
    const info = this.connection;
    await Promise.all([
      this.shell.bind(endpoint(info, info.shell_port)),
      this.control.bind(endpoint(info, info.control_port)),
      this.stdin.bind(endpoint(info, info.stdin_port)),
      this.iopub.bind(endpoint(info, info.iopub_port)),
      this.heartbeat.bind(endpoint(info, info.hb_port)),
    ]);
    parentPort!.on("message", (m: ToProtocol) => void this.fromMain(m));
    void this.heartbeatLoop();
    void this.receive(this.control, "control");
    void this.receive(this.shell, "shell");
    void this.receiveStdin();
    this.watchSigint();
    await this.publish("status", { execution_state: "starting" });
    log(`listening on ${info.transport}://${info.ip} (shell ${info.shell_port}, iopub ${info.iopub_port})`);
    // Load the language service once the kernel has settled, so the first completion is fast.
    setTimeout(() => this.startLanguage(), 1500).unref();
  }

  private toMain(m: ToMain): void {
    parentPort!.postMessage(m);
  }

  private async heartbeatLoop(): Promise<void> {
    // A ROUTER echoing every message back to its sender (as ipykernel's heartbeat device does).
    for await (const frames of this.heartbeat) await this.heartbeat.send(frames);
  }

  private async receive(socket: zmq.Router, channel: Channel): Promise<void> {
    for await (const frames of socket) {
      let msg: Message;
      try {
        msg = this.wire.parse(frames);
      } catch (e) {
        const why =
          e instanceof InvalidSignatureError
            ? "an invalid signature"
            : `a malformed message (${(e as Error).message})`;
        log(`ignoring ${why} on the ${channel} channel`);
        continue;
      }
      const problem = missingFields(msg);
      if (problem) {
        log(`ignoring a message on the ${channel} channel: ${problem}`);
        continue;
      }
      const type = msg.header.msg_type;
      if (FORWARDED.has(type) && channel === "shell") {
        this.queue.push({ msg, channel });
        void this.drain();
      } else void this.handleLocally(msg, channel);
    }
  }

  private async handleLocally(msg: Message, channel: Channel): Promise<void> {
    void this.publish("status", { execution_state: "busy" }, msg);
    try {
      const handler = this.handlers[msg.header.msg_type];
      if (handler) await handler(msg, channel);
      else await this.unknown(msg, channel);
    } catch (e) {
      log(`handler for ${msg.header.msg_type} failed: ${(e as Error).stack ?? String(e)}`);
      await this.reply(
        channel,
        msg.header.msg_type.replace(/_request$/, "_reply"),
        errorContent("InternalError", (e as Error).message),
        msg,
      );
    } finally {
      await this.publish("status", { execution_state: "idle" }, msg);
    }
  }

  private async unknown(msg: Message, channel: Channel): Promise<void> {
    const type = msg.header.msg_type;
    log(`unknown message type ${type} on ${channel}`);
    if (type.endsWith("_request")) {
      await this.reply(
        channel,
        type.replace(/_request$/, "_reply"),
        errorContent("UnknownMessageType", `vmaplab does not handle ${type}`),
        msg,
      );
    }
  }

  /** Runs queued requests on the main thread one at a time. */
  private async drain(): Promise<void> {
    if (this.draining) return;
    this.draining = true;
    try {
      for (let next = this.queue.shift(); next; next = this.queue.shift())
        await this.runOnMain(next.msg, next.channel);
    } finally {
      this.draining = false;
    }
  }

  private async runOnMain(msg: Message, channel: Channel): Promise<void> {
    void this.publish("status", { execution_state: "busy" }, msg);
    const content = { ...msg.content };
    if (msg.header.msg_type === "execute_request") {
      const silent = Boolean(content.silent);
      const store = silent ? false : (content.store_history ?? true) !== false;
      if (store) this.executionCount++;
      content.execution_count = this.executionCount;
      if (store) this.history.add(this.executionCount, String(content.code ?? ""));
    }
    this.requests.set(msg.header.msg_id, { msg, channel });
    this.latest = msg;
    const code = String(content.code ?? "");
    if (msg.header.msg_type === "execute_request" && isTypecheckCell(code)) {
      await this.typecheckCell(msg, channel, content);
      return;
    }
    const checking = msg.header.msg_type === "execute_request" && !content.silent && code.trim() !== "";
    if (msg.header.msg_type === "execute_request" && !content.silent)
      void this.publish("execute_input", { code, execution_count: content.execution_count }, msg);
    if (checking && this.typecheck === "strict" && !code.trimStart().startsWith("%")) {
      // %typecheck strict: a cell with type errors does not run.
      const errors = await this.language.typeErrors(code);
      if (errors.length) {
        const error = {
          ename: "TypeError",
          evalue: `${errors.length} type error(s)`,
          traceback: errors.map((e) => `TypeScript: ${e}`),
        };
        await this.publish("error", error, msg);
        await this.reply(
          channel,
          "execute_reply",
          { status: "error", execution_count: content.execution_count, ...error },
          msg,
        );
        await this.publish("status", { execution_state: "idle" }, msg);
        if ((msg.content.stop_on_error ?? true) !== false) await this.abortQueued();
        return;
      }
    }
    const finished = new Promise<void>((resolve) => {
      this.running = { msg, channel, done: resolve };
      this.toMain({
        kind: "request",
        id: msg.header.msg_id,
        msgType: msg.header.msg_type,
        content,
        metadata: msg.metadata,
      });
    });
    // Type-check the cell (against the cells before it) in the language thread while it runs; its
    // errors are warnings, published as soon as they are known. The cell's idle waits for them (so
    // notebook clients, which collect outputs until idle, keep them), but its reply does not.
    const warnings = checking && this.typecheck === "on" ? this.typeWarnings(code, msg) : undefined;
    await finished;
    if (warnings) await this.atMost(warnings.publish, TYPECHECK_GRACE_MS, warnings.cancel);
    this.running = undefined;
    await this.publish("status", { execution_state: "idle" }, msg);
    if (this.abortNext) {
      this.abortNext = false;
      await this.abortQueued();
    }
  }

  /** Waits for `work`, but at most `ms` milliseconds (then calls `giveUp`). */
  private async atMost(work: Promise<void>, ms: number, giveUp: () => void): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<void>((resolve) => {
      timer = setTimeout(() => {
        giveUp();
        resolve();
      }, ms);
    });
    await Promise.race([work, timeout]);
    clearTimeout(timer);
  }

  private async fromMain(m: ToProtocol): Promise<void> {
    switch (m.kind) {
      case "publish": {
        const parent = m.parent ? this.requests.get(m.parent)?.msg : this.latest;
        await this.publish(m.msgType, m.content, parent, m.metadata);
        return;
      }
      case "reply": {
        const req = this.requests.get(m.parent);
        if (req) await this.reply(req.channel, m.msgType, m.content, req.msg);
        return;
      }
      case "done": {
        const req = this.requests.get(m.parent);
        if (m.failed && req && (req.msg.content.stop_on_error ?? true) !== false) this.abortNext = true;
        if (m.succeededCode !== undefined) this.language.addCell(m.succeededCode);
        if (this.running?.msg.header.msg_id === m.parent) this.running.done();
        // Keep the latest request: late output (timers) still has a parent to point to.
        for (const id of this.requests.keys())
          if (id !== m.parent && id !== this.latest?.header.msg_id) this.requests.delete(id);
        return;
      }
      case "input_request": {
        const req = this.running?.msg;
        if (!req) return this.stdinReply(null);
        const msg = this.wire.message("input_request", { prompt: m.prompt, password: m.password }, req);
        await this.send.stdin.send(this.wire.serialize(msg, req.identities));
        return;
      }
      case "interrupt_ack":
        this.interruptAcked = true;
        return;
      case "typecheck":
        this.typecheck = m.mode;
        if (m.mode !== "off") this.startLanguage();
        return;
      case "close":
        // The process is about to exit: close the sockets so ZeroMQ shuts down cleanly.
        for (const s of [this.shell, this.control, this.stdin, this.iopub, this.heartbeat]) s.close();
        await this.language.close();
        parentPort!.postMessage({ kind: "closed" } satisfies ToMain);
        return;
    }
  }

  private async receiveStdin(): Promise<void> {
    for await (const frames of this.stdin) {
      try {
        const msg = this.wire.parse(frames);
        if (msg.header.msg_type === "input_reply") this.stdinReply(String(msg.content.value ?? ""));
      } catch (e) {
        log(`ignoring a message on the stdin channel: ${(e as Error).message}`);
      }
    }
  }

  /** Wakes the main thread blocked in `prompt()` with the reply (null: interrupted). */
  private stdinReply(value: string | null): void {
    if (value === null) {
      Atomics.store(this.shared, 0, STDIN_INTERRUPTED);
    } else {
      const bytes = Buffer.from(value, "utf8").subarray(0, STDIN_BYTES);
      this.stdinBytes.set(bytes);
      Atomics.store(this.shared, 1, bytes.length);
      Atomics.store(this.shared, 0, STDIN_REPLIED);
    }
    Atomics.notify(this.shared, 0);
  }

  private async abortQueued(): Promise<void> {
    const queued = this.queue;
    this.queue = queued.filter((q) => q.msg.header.msg_type !== "execute_request");
    for (const { msg, channel } of queued) {
      if (msg.header.msg_type !== "execute_request") continue;
      await this.publish("status", { execution_state: "busy" }, msg);
      await this.reply(
        channel,
        "execute_reply",
        { status: "aborted", execution_count: this.executionCount },
        msg,
      );
      await this.publish("status", { execution_state: "idle" }, msg);
    }
  }

  private reply(channel: Channel, msgType: string, content: JsonObject, parent: Message): Promise<void> {
    return this.send[channel].send(this.wire.serialize(this.wire.message(msgType, content, parent)));
  }

  /** Publishes on iopub; the topic follows ipykernel (`kernel.<session>.<msg_type>`, `status`). */
  private publish(
    msgType: string,
    content: JsonObject,
    parent?: Message,
    metadata: JsonObject = {},
  ): Promise<void> {
    const msg = this.wire.message(msgType, content, parent, metadata);
    const topic = Buffer.from(msgType === "status" ? "status" : `kernel.${this.wire.session}.${msgType}`);
    return this.send.iopub.send(this.wire.serialize(msg, [topic]));
  }

  private kernelInfo(msg: Message, channel: Channel): Promise<void> {
    const { info } = this.data;
    return this.reply(
      channel,
      "kernel_info_reply",
      {
        status: "ok",
        protocol_version: PROTOCOL_VERSION,
        implementation: "vmaplab",
        implementation_version: info.implementationVersion,
        language_info: {
          name: "typescript",
          version: info.languageVersion,
          mimetype: "text/typescript",
          file_extension: ".ts",
          codemirror_mode: { name: "javascript", typescript: true },
          pygments_lexer: "typescript",
        },
        banner: info.banner,
        help_links: [
          { text: "vmaplab README", url: "https://www.npmjs.com/package/vmaplab" },
          { text: "JAX documentation", url: "https://docs.jax.dev/" },
          { text: "TypeScript handbook", url: "https://www.typescriptlang.org/docs/handbook/intro.html" },
        ],
      },
      msg,
    );
  }

  private historyReply(msg: Message, channel: Channel): Promise<void> {
    const c = msg.content as {
      hist_access_type?: string;
      n?: number;
      start?: number;
      stop?: number;
      pattern?: string;
      unique?: boolean;
      output?: boolean;
      session?: number;
    };
    const history = this.history.query({
      access: (c.hist_access_type as "tail" | "range" | "search") ?? "tail",
      n: c.n,
      session: c.session,
      start: c.start,
      stop: c.stop,
      pattern: c.pattern,
      unique: c.unique,
    });
    return this.reply(channel, "history_reply", { status: "ok", history }, msg);
  }

  private startLanguage(): void {
    this.language.start().catch((e: unknown) => log(`language service: ${(e as Error).message}`));
  }

  /**
   * `%%typecheck`: the cell's body is type-checked (against the cells before it) and not run; type
   * errors make an error reply (as `%typecheck strict` does), none prints a line saying so.
   */
  private async typecheckCell(
    msg: Message,
    channel: Channel,
    content: Record<string, unknown>,
  ): Promise<void> {
    const code = String(content.code ?? "");
    const silent = Boolean(content.silent);
    if (!silent) await this.publish("execute_input", { code, execution_count: content.execution_count }, msg);
    const lines = code.split("\n");
    const first = lines.findIndex((l) => l.trim() !== "");
    const header = lines[first].trim();
    let error: { ename: string; evalue: string; traceback: string[] } | undefined;
    if (header !== "%%typecheck") {
      const evalue = `%%typecheck takes no arguments, got '${header.slice("%%typecheck".length).trim()}'`;
      error = { ename: "UsageError", evalue, traceback: [`UsageError: ${evalue}`] };
    } else {
      // The header line becomes blank, so line numbers stay the cell's own.
      lines[first] = "";
      const errors = await this.language.typeErrors(lines.join("\n"));
      if (errors.length) {
        error = {
          ename: "TypeError",
          evalue: `${errors.length} type error(s)`,
          traceback: errors.map((e) => `TypeScript: ${e}`),
        };
      } else if (!silent) {
        await this.publish("stream", { name: "stdout", text: "No type errors.\n" }, msg);
      }
    }
    if (error) {
      if (!silent) await this.publish("error", error, msg);
      await this.reply(
        channel,
        "execute_reply",
        { status: "error", execution_count: content.execution_count, ...error },
        msg,
      );
    } else {
      await this.reply(
        channel,
        "execute_reply",
        { status: "ok", execution_count: content.execution_count, user_expressions: {}, payload: [] },
        msg,
      );
    }
    this.requests.delete(msg.header.msg_id);
    await this.publish("status", { execution_state: "idle" }, msg);
    if (error && (msg.content.stop_on_error ?? true) !== false) await this.abortQueued();
  }

  /** Publishes a cell's type errors as a warning on stderr (unless cancelled first). */
  private typeWarnings(code: string, msg: Message): { publish: Promise<void>; cancel: () => void } {
    let cancelled = false;
    const publish = this.language.typeErrors(code).then(
      async (errors) => {
        if (cancelled) {
          log(`type check of ${msg.header.msg_id} came too late: ${errors.length} error(s) not shown`);
          return;
        }
        if (errors.length) {
          const text = errors.map((e) => `TypeScript: ${e}\n`).join("");
          await this.publish("stream", { name: "stderr", text }, msg);
        }
      },
      (e: unknown) => log(`type check failed: ${(e as Error).message}`),
    );
    return { publish, cancel: () => (cancelled = true) };
  }

  private async complete(msg: Message, channel: Channel): Promise<void> {
    const { code = "", cursor_pos } = msg.content as { code?: string; cursor_pos?: number };
    const result = await this.language.complete(code, cursor_pos ?? code.length);
    await this.reply(channel, "complete_reply", { status: "ok", ...result }, msg);
  }

  private async inspect(msg: Message, channel: Channel): Promise<void> {
    const {
      code = "",
      cursor_pos,
      detail_level,
    } = msg.content as { code?: string; cursor_pos?: number; detail_level?: number };
    const text = await this.language.inspect(code, cursor_pos ?? code.length, detail_level ?? 0);
    await this.reply(
      channel,
      "inspect_reply",
      { status: "ok", found: text !== undefined, data: text ? { "text/plain": text } : {}, metadata: {} },
      msg,
    );
  }

  private async interrupt(msg: Message, channel: Channel): Promise<void> {
    await this.reply(channel, "interrupt_reply", { status: "ok" }, msg);
    await this.stopRunningCell();
  }

  /**
   * Watches for SIGINT (Jupyter's interrupt_mode "signal", Ctrl-C in a terminal) here, because the
   * main thread cannot see it while a cell keeps it busy (a synchronous loop after an `await`, or a
   * `prompt()`). Workers get no `process.on("SIGINT")`; libuv's signal watcher (Node's signal_wrap)
   * works in any thread. Without it only the main thread's own handling remains.
   */
  private watchSigint(): void {
    try {
      const quiet = process.noDeprecation;
      process.noDeprecation = true; // process.binding is deprecated (DEP0111); there is no public way
      let binding: SignalWrapBinding;
      try {
        binding = (process as unknown as { binding(name: "signal_wrap"): SignalWrapBinding }).binding(
          "signal_wrap",
        );
      } finally {
        process.noDeprecation = quiet;
      }
      const signal = new binding.Signal();
      signal.onsignal = () => void this.stopRunningCell();
      const code = signal.start(osConstants.signals.SIGINT);
      if (code !== 0) throw new Error(`uv_signal_start failed (${code})`);
      signal.unref();
      Atomics.store(this.shared, SIGINT_WATCHED, 1);
    } catch (e) {
      log(`SIGINT reaches only the main thread: ${(e as Error).message}`);
    }
  }

  /**
   * Stops the running cell: by message (a cell waiting on a promise or for input), and if the main
   * thread does not take it within 150 ms (a synchronous loop), by terminating its current JavaScript
   * through the inspector (which leaves the kernel's state and event loop intact).
   */
  private async stopRunningCell(): Promise<void> {
    const target = this.running;
    // One escalation per cell at a time.
    if (!target || this.interrupting === target) return;
    this.interrupting = target;
    try {
      this.stdinReply(null);
      this.interruptAcked = false;
      this.toMain({ kind: "interrupt" });
      await sleep(150);
      if (!this.interruptAcked && this.running === target) this.terminateMainThread();
    } finally {
      if (this.interrupting === target) this.interrupting = undefined;
    }
  }

  private terminateMainThread(): void {
    log("interrupt: the cell does not yield; terminating its JavaScript execution");
    if (!this.inspector) {
      this.inspector = new Session();
      this.inspector.connectToMainThread();
    }
    const session = this.inspector;
    // Disconnect afterwards: a connected session makes Node wait for "the debugger" at exit.
    session.post("Runtime.terminateExecution", () => {
      session.disconnect();
      if (this.inspector === session) this.inspector = undefined;
    });
    this.toMain({ kind: "interrupt" });
  }

  private async shutdown(msg: Message, channel: Channel): Promise<void> {
    const restart = Boolean((msg.content as { restart?: boolean }).restart);
    await this.reply(channel, "shutdown_reply", { status: "ok", restart }, msg);
    await this.publish("shutdown_reply", { status: "ok", restart }, msg);
    log(`shutdown requested (restart=${restart})`);
    this.toMain({ kind: "shutdown", restart });
    // If the main thread is stuck in a cell it cannot exit by itself: end the process.
    setTimeout(() => process.kill(process.pid, "SIGKILL"), 1500).unref();
  }
}

function missingFields(msg: Message): string | undefined {
  const h = msg.header as Partial<Message["header"]>;
  if (typeof h !== "object" || h === null) return "the header is not an object";
  for (const f of ["msg_id", "msg_type"] as const)
    if (typeof h[f] !== "string") return `the header lacks '${f}'`;
  if (typeof msg.content !== "object" || msg.content === null) return "the content is not an object";
  return undefined;
}

function errorContent(ename: string, evalue: string): JsonObject {
  return { status: "error", ename, evalue, traceback: [`${ename}: ${evalue}`] };
}

new ProtocolThread().start().catch((e: unknown) => {
  log(`the protocol thread failed: ${(e as Error).stack ?? String(e)}`);
  process.exit(1);
});

/** A cell whose first line is `%%typecheck` (checked here, where the type checker lives). */
function isTypecheckCell(code: string): boolean {
  const first = code.split("\n").find((l) => l.trim() !== "");
  return first !== undefined && /^%%typecheck(\s|$)/.test(first.trim());
}
