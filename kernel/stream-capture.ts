/**
 * Captures process.stdout/stderr writes (console.log and friends) and forwards them as Jupyter
 * `stream` messages, attributed to the cell that is running (or ran last, for late output).
 */
import type { Message } from "./wire.js";

type StreamName = "stdout" | "stderr";
type Sink = (name: StreamName, text: string, parent: Message | undefined) => void;

export class StreamCapture {
  private parent: Message | undefined;
  private pending: Promise<void> = Promise.resolve();

  constructor(private readonly sink: Sink) {}

  install(): void {
    for (const name of ["stdout", "stderr"] as const) {
      const stream = process[name];
      stream.write = ((chunk: string | Uint8Array, encodingOrCb?: unknown, cb?: unknown): boolean => {
        const text = typeof chunk === "string" ? chunk : Buffer.from(chunk).toString("utf8");
        this.sink(name, text, this.parent);
        const done = typeof encodingOrCb === "function" ? encodingOrCb : cb;
        if (typeof done === "function") queueMicrotask(() => (done as () => void)());
        return true;
      }) as typeof stream.write;
    }
  }

  setParent(parent: Message): void {
    this.parent = parent;
  }

  writeStderr(text: string): void {
    this.sink("stderr", text, this.parent);
  }

  /** Lets writes already made reach the socket before the reply that ends the cell. */
  async flush(): Promise<void> {
    await this.pending;
    await new Promise((r) => setImmediate(r));
  }
}
