/**
 * waitGently (engine/backend/webgpu/dawn-polling.ts): while a Dawn wait is pending the global
 * setImmediate is swapped for a gentler one, which still runs every callback, and it is put back
 * once the last pending wait ends, however the waits end.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { waitGently } from "../engine/backend/webgpu/dawn-polling.js";

const later = <T>(ms: number, value: T) => new Promise<T>((resolve) => setTimeout(() => resolve(value), ms));

describe("waiting on Dawn gently", () => {
  it("swaps setImmediate during a wait and restores it after nested and failing waits", async () => {
    const original = globalThis.setImmediate;
    let during: typeof setImmediate | undefined;
    const outer = waitGently(async () => {
      during = globalThis.setImmediate;
      const inner = await waitGently(() => later(5, "inner"));
      assert.equal(inner, "inner");
      assert.notEqual(globalThis.setImmediate, original, "still swapped while the outer wait is pending");
      return later(5, "outer");
    });
    await assert.rejects(
      waitGently(() => Promise.reject(new Error("device lost"))),
      /device lost/,
    );
    assert.equal(await outer, "outer");
    assert.ok(during && during !== original, "swapped while waiting");
    assert.equal(globalThis.setImmediate, original, "restored after the last wait");
  });

  it("still runs callbacks given to setImmediate meanwhile, with their arguments", async () => {
    const seen: number[] = [];
    await waitGently(async () => {
      setImmediate((k: number) => seen.push(k), 1);
      await later(3, undefined);
      // Past the immediate half millisecond: the callback goes through a timer instead.
      await new Promise<void>((resolve) =>
        setImmediate((k: number) => {
          seen.push(k);
          resolve();
        }, 2),
      );
    });
    assert.deepEqual(seen, [1, 2]);
  });

  it("leaves other code's immediates real, so clearImmediate works during and after a wait", async () => {
    const original = globalThis.setImmediate;
    let kept: typeof setImmediate | undefined;
    const ran: string[] = [];
    await waitGently(async () => {
      kept = globalThis.setImmediate;
      await later(3, undefined); // past the immediate half millisecond
      const cancelled = setImmediate(() => ran.push("cancelled"));
      clearImmediate(cancelled);
      await new Promise<void>((resolve) => setImmediate(() => (ran.push("during"), resolve())));
    });
    assert.equal(globalThis.setImmediate, original);
    // A reference kept from the wait still gives real immediates afterwards.
    const handle = kept!(() => ran.push("kept, cancelled"));
    clearImmediate(handle);
    await new Promise<void>((resolve) => kept!(() => (ran.push("after"), resolve())));
    assert.deepEqual(ran, ["during", "after"]);
  });

  it("puts back only its own swap", async () => {
    const original = globalThis.setImmediate;
    const other = ((cb: () => void) => original(cb)) as unknown as typeof setImmediate;
    await waitGently(async () => {
      globalThis.setImmediate = other; // someone else's replacement, made during the wait
    });
    assert.equal(globalThis.setImmediate, other);
    globalThis.setImmediate = original;
  });
});
