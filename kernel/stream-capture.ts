/**
 * Captures process.stdout/stderr writes (console.log and friends) and forwards them as Jupyter
 * `stream` output as they happen, also while a long cell is still running.
 */
type StreamName = "stdout" | "stderr";

export class StreamCapture {
  constructor(private readonly sink: (name: StreamName, text: string) => void) {}

  install(): void {
    for (const name of ["stdout", "stderr"] as const) {
      const stream = process[name];
      stream.write = ((chunk: string | Uint8Array, encodingOrCb?: unknown, cb?: unknown): boolean => {
        const text = typeof chunk === "string" ? chunk : Buffer.from(chunk).toString("utf8");
        this.sink(name, text);
        const done = typeof encodingOrCb === "function" ? encodingOrCb : cb;
        if (typeof done === "function") queueMicrotask(() => (done as () => void)());
        return true;
      }) as typeof stream.write;
    }
  }
}
