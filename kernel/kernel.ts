/**
 * The kernel's main thread: runs cells and everything that touches the user's state (execute,
 * comms), while the protocol thread (protocol-thread.ts) owns the sockets. Outputs leave in the
 * order the cell produced them (one queue for streams, displays and results).
 */
import { randomUUID } from "node:crypto";
import { Worker } from "node:worker_threads";
import { CommManager } from "./comms.js";
import { log } from "./log.js";
import { displayData, rawBundle, type MimeBundle } from "./display.js";
import { Evaluator } from "./evaluator.js";
import { StreamCapture } from "./stream-capture.js";
import {
  SHARED_HEADER_BYTES,
  SIGINT_WATCHED,
  STDIN_BYTES,
  STDIN_INTERRUPTED,
  STDIN_WAITING,
  type KernelInfo,
  type ProtocolThreadData,
  type RequestToMain,
  type ToMain,
  type ToProtocol,
} from "./thread-messages.js";
import { tslabShim } from "./tslab-shim.js";
import { MAGIC_HOOK } from "./magic-syntax.js";
import { Magics } from "./magics.js";
import type { JsonObject } from "./wire.js";

export interface KernelOptions {
  connectionFile: string;
  engineEntry: string;
  engineTypes: string;
  historyFile: string;
  /** Names to put into the cells' scope before the first cell runs. */
  scope: Record<string, unknown>;
  info: KernelInfo;
  /** Resolves when the engine's devices are up; cells wait for it. */
  ready?: Promise<void>;
  /** Called before the process exits on shutdown (e.g. to release the GPU). */
  onShutdown?: () => void;
}

/** What a cell throws when it is interrupted (IPython's KeyboardInterrupt). */
export class KeyboardInterrupt extends Error {
  constructor() {
    super("the cell was interrupted");
    this.name = "KeyboardInterrupt";
  }
}

export interface DisplayOptions {
  raw?: boolean;
  displayId?: string;
  update?: boolean;
  metadata?: JsonObject;
}

export interface DisplayHandle {
  displayId: string;
  update(value: unknown, options?: Omit<DisplayOptions, "displayId" | "update">): void;
}

interface Running {
  request: RequestToMain;
  interrupt: (e: Error) => void;
}

export class Kernel {
  private readonly worker: Worker;
  private readonly evaluator: Evaluator;
  private readonly streams: StreamCapture;
  readonly comms: CommManager;
  private readonly magics = new Magics({
    display: (v) => void this.display(v),
    displayBundle: (bundle) => void this.display(bundle, { raw: true }),
    print: (text) => this.enqueue("stream", { name: "stdout", text }),
    setTypecheck: (mode) => this.post({ kind: "typecheck", mode }),
    userNames: () => this.evaluator.userNames(),
    valueOf: (name) => this.evaluator.valueOf(name),
    reset: () => this.evaluator.reset(),
    confirm: (question) => /^y(es)?$/i.test(this.prompt(question, false).trim()),
  });
  private readonly shared: Int32Array;
  private readonly stdinBytes: Uint8Array;
  private outputs: Promise<void> = Promise.resolve();
  private running: Running | undefined;
  private parent: string | undefined;
  private allowStdin = false;

  constructor(private readonly options: KernelOptions) {
    const sharedBuffer = new SharedArrayBuffer(SHARED_HEADER_BYTES + STDIN_BYTES);
    this.shared = new Int32Array(sharedBuffer, 0, SHARED_HEADER_BYTES / 4);
    this.stdinBytes = new Uint8Array(sharedBuffer, SHARED_HEADER_BYTES, STDIN_BYTES);
    const data: ProtocolThreadData = {
      connectionFile: options.connectionFile,
      info: options.info,
      sharedBuffer,
      historyFile: options.historyFile,
      engineTypes: options.engineTypes,
      // The engine's exports among the scope's names (vmaplab itself is declared as the namespace).
      // (plot is the kernel's own: the language service declares it from kernel/charts.ts.)
      scopeNames: Object.keys(options.scope).filter((n) => n !== "vmaplab" && n !== "plot"),
    };
    this.worker = new Worker(new URL("./protocol-thread.js", import.meta.url), {
      workerData: data,
      stdout: false,
      stderr: false,
    });
    this.evaluator = new Evaluator(options.engineEntry, {
      tslab: tslabShim((bundle, id, update) => this.sendDisplay(bundle, id, update)),
    });
    this.comms = new CommManager((msgType, content) => this.enqueue(msgType, content));
    this.evaluator.define({
      ...options.scope,
      display: (value: unknown, opts?: DisplayOptions) => this.display(value, opts),
      clearOutput: (opts?: { wait?: boolean }) => this.enqueue("clear_output", { wait: Boolean(opts?.wait) }),
      prompt: (message?: string, opts?: { password?: boolean }) =>
        this.prompt(message ?? "", Boolean(opts?.password)),
      comms: this.comms,
      [MAGIC_HOOK]: (name: string, args: string, thunk?: () => unknown, source?: string) =>
        this.magics.run(name, args, thunk, source),
    });
    this.streams = new StreamCapture((name, text) => this.enqueue("stream", { name, text }));
  }

  start(): void {
    this.streams.install();
    process.on("uncaughtException", (err) => this.reportStray(err));
    process.on("unhandledRejection", (err) => this.reportStray(err));
    process.on("SIGINT", () => this.onSigint());
    this.worker.on("message", (m: ToMain) => void this.fromProtocol(m));
    // Load the TypeScript compiler while the user looks at the fresh notebook.
    setTimeout(() => void this.evaluator.preload(), 50).unref();
    this.worker.on("error", (e) => {
      log(`the protocol thread failed: ${e.stack ?? String(e)}`);
      process.exit(1);
    });
    this.worker.on("exit", (code) => {
      log(`the protocol thread exited (${code})`);
      process.exit(code || 1);
    });
  }

  private post(m: ToProtocol): void {
    this.worker.postMessage(m);
  }

  /** Queues an iopub message behind the outputs already produced, attributed to the current request. */
  private enqueue(msgType: string, content: JsonObject, metadata?: JsonObject): void {
    const parent = this.parent;
    this.outputs = this.outputs.then(() =>
      this.post({ kind: "publish", parent, msgType, content, metadata }),
    );
  }

  private async fromProtocol(m: ToMain): Promise<void> {
    switch (m.kind) {
      case "request":
        return this.handle(m);
      case "interrupt":
        this.post({ kind: "interrupt_ack" });
        this.running?.interrupt(new KeyboardInterrupt());
        return;
      case "shutdown":
        this.options.onShutdown?.();
        await this.outputs;
        // Let ZeroMQ deliver the last replies, then close the sockets and leave.
        setTimeout(() => this.post({ kind: "close" }), 50);
        setTimeout(() => process.exit(0), 500).unref();
        return;
      case "closed":
        process.exit(0);
        return;
    }
  }

  /**
   * A SIGINT (Jupyter's interrupt_mode "signal") interrupts the running cell. The protocol thread
   * watches for it and stops any cell, even one in a synchronous loop; only where it cannot, this
   * handler (for a cell waiting on a promise) and vm's breakOnSigint (a synchronous loop in the
   * cell's first part) do. The listener also keeps the signal from ending the process.
   */
  private onSigint(): void {
    if (!Atomics.load(this.shared, SIGINT_WATCHED)) this.running?.interrupt(new KeyboardInterrupt());
  }

  private async handle(request: RequestToMain): Promise<void> {
    this.parent = request.id;
    const c = request.content;
    let failed = false;
    let succeededCode: string | undefined;
    try {
      switch (request.msgType) {
        case "execute_request":
          ({ failed, succeededCode } = await this.execute(request));
          break;
        case "comm_open":
          this.comms.handleOpen(c);
          break;
        case "comm_msg":
          this.comms.handleMsg(c);
          break;
        case "comm_close":
          this.comms.handleClose(c);
          break;
        case "comm_info_request":
          this.post({
            kind: "reply",
            parent: request.id,
            msgType: "comm_info_reply",
            content: { status: "ok", comms: this.comms.info(c.target_name as string | undefined) },
          });
          break;
      }
    } catch (e) {
      log(`${request.msgType} failed: ${(e as Error).stack ?? String(e)}`);
    }
    await this.outputs;
    this.post({ kind: "done", parent: request.id, failed, succeededCode });
  }

  private async execute(request: RequestToMain): Promise<{ failed: boolean; succeededCode?: string }> {
    const c = request.content as {
      code?: string;
      silent?: boolean;
      execution_count: number;
      user_expressions?: Record<string, string>;
      allow_stdin?: boolean;
    };
    const code = c.code ?? "";
    const count = c.execution_count;
    const silent = Boolean(c.silent);
    this.allowStdin = c.allow_stdin !== false;
    // (The protocol thread has published execute_input.)
    const reply = (content: JsonObject) => {
      this.outputs = this.outputs.then(() =>
        this.post({ kind: "reply", parent: request.id, msgType: "execute_reply", content }),
      );
    };
    try {
      await this.options.ready;
      const result = await this.interruptible(request, () => this.evaluator.run(code, `cell[${count}]`));
      if (result.hasValue && !silent && !endsWithSemicolon(code)) {
        const data = await displayData(result.value);
        this.enqueue("execute_result", { execution_count: count, data, metadata: {} });
      }
      const userExpressions = await this.userExpressions(c.user_expressions ?? {});
      reply({ status: "ok", execution_count: count, user_expressions: userExpressions, payload: [] });
      // Only cells that declare names change what later cells can see (and the language service's
      // program); leaving the others out keeps completion and type checks cheap.
      return { failed: false, succeededCode: result.declared.length > 0 ? code : undefined };
    } catch (err) {
      const error = this.evaluator.describeError(isInterrupt(err) ? new KeyboardInterrupt() : err);
      if (!silent) this.enqueue("error", { ...error });
      reply({ status: "error", execution_count: count, ...error });
      return { failed: true };
    } finally {
      this.running = undefined;
    }
  }

  /** Runs a cell so that an interrupt (message or SIGINT) ends it with KeyboardInterrupt. */
  private interruptible<T>(request: RequestToMain, body: () => Promise<T>): Promise<T> {
    let interrupt!: (e: Error) => void;
    const interrupted = new Promise<never>((_, reject) => (interrupt = reject));
    interrupted.catch(() => {});
    this.running = { request, interrupt };
    // (vm's SIGINT watchdog takes over the signal handler for a while: not while another thread watches it.)
    this.evaluator.breakOnSigint = !Atomics.load(this.shared, SIGINT_WATCHED);
    return Promise.race([body(), interrupted]);
  }

  private async userExpressions(exprs: Record<string, string>): Promise<JsonObject> {
    const out: JsonObject = {};
    for (const [name, expr] of Object.entries(exprs)) {
      try {
        const r = await this.evaluator.run(expr, `user_expression[${name}]`);
        out[name] = { status: "ok", data: await displayData(r.value), metadata: {} };
      } catch (e) {
        out[name] = { status: "error", ...this.evaluator.describeError(e) };
      }
    }
    return out;
  }

  display(value: unknown, opts: DisplayOptions = {}): DisplayHandle {
    const displayId = opts.displayId ?? randomUUID();
    const send = (v: unknown, o: DisplayOptions, update: boolean) => {
      const bundle = o.raw ? Promise.resolve(rawBundle(v)) : displayData(v);
      const parent = this.parent;
      this.outputs = this.outputs.then(async () => {
        const data = await bundle.catch((e: unknown) => ({
          "text/plain": `display failed: ${(e as Error).message}`,
        }));
        this.post({
          kind: "publish",
          parent,
          msgType: update ? "update_display_data" : "display_data",
          content: { data, metadata: o.metadata ?? {}, transient: { display_id: displayId } },
        });
      });
    };
    send(value, opts, Boolean(opts.update));
    return { displayId, update: (v, o = {}) => send(v, { ...opts, ...o }, true) };
  }

  private sendDisplay(bundle: MimeBundle, displayId: string | undefined, update: boolean): void {
    this.display(bundle, { raw: true, displayId, update });
  }

  /** Asks the front end for a line of input and waits (synchronously) for the answer. */
  private prompt(message: string, password: boolean): string {
    if (!this.allowStdin)
      throw new Error("prompt(): this front end does not accept input requests (allow_stdin is false)");
    Atomics.store(this.shared, 0, STDIN_WAITING);
    this.post({ kind: "input_request", prompt: message, password });
    Atomics.wait(this.shared, 0, STDIN_WAITING);
    if (Atomics.load(this.shared, 0) === STDIN_INTERRUPTED) throw new KeyboardInterrupt();
    const length = Atomics.load(this.shared, 1);
    return Buffer.from(this.stdinBytes.slice(0, length)).toString("utf8");
  }

  /** Errors from code a cell left running (timers, promises) go to the notebook, not to a crash. */
  private reportStray(err: unknown): void {
    const error = this.evaluator.describeError(err);
    this.enqueue("stream", { name: "stderr", text: `${error.traceback.join("\n")}\n` });
  }
}

function isInterrupt(err: unknown): boolean {
  return (
    err instanceof KeyboardInterrupt ||
    (err as { code?: string })?.code === "ERR_SCRIPT_EXECUTION_INTERRUPTED"
  );
}

/** IPython's rule: a cell whose last statement ends with `;` shows no result. */
function endsWithSemicolon(code: string): boolean {
  // A line comment starts at `//` after a blank or at the line's start (not in `https://...`).
  const stripped = code.replace(/(^|\s)\/\/[^\n]*$/gm, "").trimEnd();
  return stripped.endsWith(";");
}
