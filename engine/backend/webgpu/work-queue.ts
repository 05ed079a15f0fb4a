/**
 * An ordered queue of device work for the WebGPU executor. Most work (submitting a kernel, returning
 * a buffer to the pool) is synchronous and runs at once while the queue is idle. A host-driven step
 * (a while loop that reads its predicate back every iteration) is asynchronous: while it is in the
 * queue, later work is appended behind it instead, so it sees the step's results.
 */
export class WorkQueue {
  private tail: Promise<void> = Promise.resolve();
  private pending = 0;
  private failure: Error | undefined;

  /** Nothing queued or running: synchronous work may run right away. */
  get idle(): boolean {
    return this.pending === 0;
  }

  /** Runs `work` now when idle, else after everything queued before it. */
  submit(work: () => void): void {
    if (this.idle) work();
    else this.push(work);
  }

  /** Appends (possibly asynchronous) work; a failure is kept for `drain` to report. */
  push(work: () => void | Promise<void>): void {
    this.pending++;
    this.tail = this.tail.then(async () => {
      try {
        await work();
      } catch (e) {
        this.failure ??= e instanceof Error ? e : new Error(String(e));
      } finally {
        this.pending--;
      }
    });
  }

  /**
   * Resolves once everything queued so far (and anything queued meanwhile) has run; rejects with
   * the first failure since the last drain, which is then cleared so the device stays usable.
   */
  async drain(): Promise<void> {
    while (this.pending > 0) await this.tail;
    const failure = this.failure;
    if (failure) {
      this.failure = undefined;
      throw failure;
    }
  }
}
