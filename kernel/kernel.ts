/**
 * The Jupyter kernel: ZeroMQ sockets, a dispatch table from msg_type to handler (as ipykernel's
 * kernelbase does), shell requests run one at a time, control requests at once.
 */
import { writeSync } from "node:fs";
import * as zmq from "zeromq";
import { endpoint, type ConnectionInfo } from "./connection.js";
import { displayData } from "./display.js";
import { Evaluator } from "./evaluator.js";
import { StreamCapture } from "./stream-capture.js";
import { InvalidSignatureError, PROTOCOL_VERSION, Wire, type JsonObject, type Message } from "./wire.js";

export interface KernelOptions {
  connection: ConnectionInfo;
  engineEntry: string;
  /** Names to put into the cells' scope before the first cell runs. */
  scope: Record<string, unknown>;
  banner: string;
  implementationVersion: string;
  languageVersion: string;
  /** Called before the process exits on shutdown (e.g. to release the GPU). */
  onShutdown?: () => void;
}

type Channel = "shell" | "control";
type Handler = (msg: Message, channel: Channel) => Promise<void>;

/** Sends on one socket strictly one message at a time (zeromq allows one pending send per socket). */
class SerialSender {
  private tail: Promise<void> = Promise.resolve();
  constructor(private readonly socket: zmq.Writable) {}
  send(frames: Buffer[]): Promise<void> {
    this.tail = this.tail.then(
      () => this.socket.send(frames),
      () => this.socket.send(frames),
    );
    return this.tail;
  }
}

export function log(text: string): void {
  writeSync(2, `[vmaplab kernel] ${text}\n`);
}

export class Kernel {
  private readonly wire: Wire;
  private readonly shell = new zmq.Router();
  private readonly control = new zmq.Router();
  private readonly stdin = new zmq.Router();
  private readonly iopub = new zmq.Publisher();
  private readonly heartbeat = new zmq.Reply();
  private readonly senders: Record<Channel | "iopub", SerialSender>;
  private readonly evaluator: Evaluator;
  private readonly streams: StreamCapture;
  private executionCount = 0;
  private shellQueue: Message[] = [];
  private shellBusy = false;
  private abortQueued = false;
  private closing = false;

  private readonly handlers: Record<string, Handler> = {
    kernel_info_request: (m, c) => this.kernelInfo(m, c),
    execute_request: (m, c) => this.execute(m, c),
    shutdown_request: (m, c) => this.shutdown(m, c),
    is_complete_request: (m, c) => this.reply(c, "is_complete_reply", { status: "unknown" }, m),
    comm_info_request: (m, c) => this.reply(c, "comm_info_reply", { status: "ok", comms: {} }, m),
    history_request: (m, c) => this.reply(c, "history_reply", { status: "ok", history: [] }, m),
    interrupt_request: (m, c) => this.reply(c, "interrupt_reply", { status: "ok" }, m),
  };

  constructor(private readonly options: KernelOptions) {
    this.wire = new Wire(options.connection.key);
    this.senders = {
      shell: new SerialSender(this.shell),
      control: new SerialSender(this.control),
      iopub: new SerialSender(this.iopub),
    };
    this.evaluator = new Evaluator(options.engineEntry);
    this.evaluator.define(options.scope);
    this.streams = new StreamCapture((name, text, parent) => {
      void this.publish("stream", { name, text }, parent);
    });
  }

  async start(): Promise<void> {
    const info = this.options.connection;
    await Promise.all([
      this.shell.bind(endpoint(info, info.shell_port)),
      this.control.bind(endpoint(info, info.control_port)),
      this.stdin.bind(endpoint(info, info.stdin_port)),
      this.iopub.bind(endpoint(info, info.iopub_port)),
      this.heartbeat.bind(endpoint(info, info.hb_port)),
    ]);
    this.streams.install();
    process.on("uncaughtException", (err) => this.reportStray(err));
    process.on("unhandledRejection", (err) => this.reportStray(err));
    void this.heartbeatLoop();
    void this.receiveLoop(this.control, "control");
    void this.receiveLoop(this.shell, "shell");
    await this.publish("status", { execution_state: "starting" });
    log(`listening on ${info.ip} (shell ${info.shell_port}, iopub ${info.iopub_port})`);
  }

  private async heartbeatLoop(): Promise<void> {
    for await (const frames of this.heartbeat) {
      if (this.closing) break;
      await this.heartbeat.send(frames);
    }
  }

  private async receiveLoop(socket: zmq.Router, channel: Channel): Promise<void> {
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
      if (channel === "control") void this.dispatch(msg, channel);
      else {
        this.shellQueue.push(msg);
        void this.drainShell();
      }
    }
  }

  private async drainShell(): Promise<void> {
    if (this.shellBusy) return;
    this.shellBusy = true;
    try {
      while (this.shellQueue.length) {
        const msg = this.shellQueue.shift()!;
        if (this.abortQueued && msg.header.msg_type === "execute_request") await this.abort(msg);
        else await this.dispatch(msg, "shell");
        if (this.shellQueue.length === 0) this.abortQueued = false;
      }
    } finally {
      this.shellBusy = false;
      this.abortQueued = false;
    }
  }

  private async dispatch(msg: Message, channel: Channel): Promise<void> {
    const handler = this.handlers[msg.header.msg_type];
    await this.publish("status", { execution_state: "busy" }, msg);
    try {
      if (handler) await handler(msg, channel);
      else log(`no handler for ${msg.header.msg_type} on ${channel}; ignored`);
    } catch (e) {
      log(`handler for ${msg.header.msg_type} failed: ${(e as Error).stack ?? String(e)}`);
    } finally {
      await this.publish("status", { execution_state: "idle" }, msg);
    }
  }

  private async send(channel: Channel, msg: Message): Promise<void> {
    await this.senders[channel].send(this.wire.serialize(msg));
  }

  private reply(channel: Channel, msgType: string, content: JsonObject, parent: Message): Promise<void> {
    return this.send(channel, this.wire.message(msgType, content, parent));
  }

  /** Publishes on iopub; the topic follows ipykernel (`kernel.<session>.<msg_type>`, `status`). */
  publish(msgType: string, content: JsonObject, parent?: Message): Promise<void> {
    const msg = this.wire.message(msgType, content, parent);
    const topic = Buffer.from(msgType === "status" ? "status" : `kernel.${this.wire.session}.${msgType}`);
    return this.senders.iopub.send(this.wire.serialize(msg, [topic]));
  }

  private async kernelInfo(msg: Message, channel: Channel): Promise<void> {
    await this.reply(
      channel,
      "kernel_info_reply",
      {
        status: "ok",
        protocol_version: PROTOCOL_VERSION,
        implementation: "vmaplab",
        implementation_version: this.options.implementationVersion,
        language_info: {
          name: "typescript",
          version: this.options.languageVersion,
          mimetype: "text/typescript",
          file_extension: ".ts",
          codemirror_mode: { name: "javascript", typescript: true },
          pygments_lexer: "typescript",
        },
        banner: this.options.banner,
        help_links: [
          { text: "vmaplab README", url: "https://www.npmjs.com/package/vmaplab" },
          { text: "JAX documentation", url: "https://docs.jax.dev/" },
          { text: "TypeScript handbook", url: "https://www.typescriptlang.org/docs/handbook/intro.html" },
        ],
      },
      msg,
    );
  }

  private async execute(msg: Message, channel: Channel): Promise<void> {
    const content = msg.content as {
      code?: string;
      silent?: boolean;
      store_history?: boolean;
      stop_on_error?: boolean;
    };
    const code = content.code ?? "";
    const silent = content.silent ?? false;
    const storeHistory = silent ? false : (content.store_history ?? true);
    if (storeHistory) this.executionCount++;
    const count = this.executionCount;
    if (!silent) await this.publish("execute_input", { code, execution_count: count }, msg);
    this.streams.setParent(msg);
    try {
      const cellName = `cell[${count}]`;
      const result = code.trim()
        ? await this.evaluator.run(code, cellName)
        : { hasValue: false, value: undefined };
      if (result.hasValue && !silent) {
        const data = await displayData(result.value);
        await this.streams.flush();
        await this.publish("execute_result", { execution_count: count, data, metadata: {} }, msg);
      }
      await this.streams.flush();
      await this.reply(
        channel,
        "execute_reply",
        { status: "ok", execution_count: count, user_expressions: {}, payload: [] },
        msg,
      );
    } catch (err) {
      await this.streams.flush();
      const error = this.evaluator.describeError(err);
      if (!silent) await this.publish("error", { ...error }, msg);
      await this.reply(channel, "execute_reply", { status: "error", execution_count: count, ...error }, msg);
      if (content.stop_on_error ?? true) this.abortQueued = true;
    }
  }

  private async abort(msg: Message): Promise<void> {
    await this.publish("status", { execution_state: "busy" }, msg);
    await this.reply(
      "shell",
      "execute_reply",
      { status: "aborted", execution_count: this.executionCount },
      msg,
    );
    await this.publish("status", { execution_state: "idle" }, msg);
  }

  private async shutdown(msg: Message, channel: Channel): Promise<void> {
    const restart = Boolean((msg.content as { restart?: boolean }).restart);
    await this.reply(channel, "shutdown_reply", { status: "ok", restart }, msg);
    await this.publish("shutdown_reply", { status: "ok", restart }, msg);
    await this.publish("status", { execution_state: "idle" }, msg);
    this.closing = true;
    log(`shutdown requested (restart=${restart})`);
    this.options.onShutdown?.();
    // Give ZeroMQ a moment to flush the replies, then leave.
    setTimeout(() => process.exit(0), 100).unref();
    setTimeout(() => process.exit(0), 1000);
  }

  /** Errors from code a cell left running (timers, promises) go to the notebook, not to a crash. */
  private reportStray(err: unknown): void {
    const error = this.evaluator.describeError(err);
    this.streams.writeStderr(`${error.traceback.join("\n")}\n`);
  }
}
