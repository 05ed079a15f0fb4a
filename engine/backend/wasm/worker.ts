/**
 * A pool worker: instantiates the kernel module over the shared heap, then waits on the control
 * word for jobs (function index and arguments in its own slot) and reports completion atomically.
 */
import { receiveMessageOnPort, workerData, type MessagePort } from "node:worker_threads";
import { wasmApi, type WasmMemory, type WasmModule } from "./wasm-api.js";
import { CTRL, RESULT, slotBase } from "./pool-protocol.js";

interface Data {
  module: WasmModule;
  memory: WasmMemory;
  ctrl: SharedArrayBuffer;
  names: string[];
  slot: number;
  /** Further modules (compiled programs' kernels), taken on a LOAD job. */
  port: MessagePort;
}

const { module, memory, ctrl: sab, names, slot, port } = workerData as Data;
const instance = new wasmApi.Instance(module, { env: { memory } });
const fns = names.map((n) => instance.exports[n] as (...args: number[]) => number | undefined);
const ctrl = new Int32Array(sab);
Atomics.add(ctrl, CTRL.ready, 1);
Atomics.notify(ctrl, CTRL.ready);
let seq = 0;
for (;;) {
  Atomics.wait(ctrl, CTRL.seq, seq);
  seq = Atomics.load(ctrl, CTRL.seq);
  const base = slotBase(slot);
  const fn = ctrl[base];
  if (fn === -2) {
    try {
      const msg = receiveMessageOnPort(port)?.message as { module: WasmModule; names: string[] } | undefined;
      if (!msg) throw new Error("no module");
      const inst = new wasmApi.Instance(msg.module, { env: { memory } });
      for (const n of msg.names) fns.push(inst.exports[n] as (...args: number[]) => number | undefined);
    } catch {
      Atomics.store(ctrl, CTRL.error, 1);
    }
  } else if (fn === -3) {
    // Recorded kernel calls (pool-protocol.ts RUN_CALLS): [index, count, ...args] per call.
    try {
      const [ptr, length] = ctrl.subarray(base + 2, base + 4);
      const words = new Int32Array(memory.buffer, ptr, length);
      let flagged = 0;
      for (let i = 0; i < length;) {
        const n = words[i + 1];
        if ((fns[words[i]](...words.subarray(i + 2, i + 2 + n)) ?? 0) !== 0) flagged = 1;
        i += 2 + n;
      }
      ctrl[base + RESULT] = flagged;
    } catch {
      Atomics.store(ctrl, CTRL.error, 1);
    }
  } else if (fn >= 0) {
    try {
      const r = fns[fn](...Array.from(ctrl.subarray(base + 2, base + 2 + ctrl[base + 1])));
      ctrl[base + RESULT] = typeof r === "number" ? r : 0;
    } catch {
      Atomics.store(ctrl, CTRL.error, 1);
    }
  }
  if (Atomics.sub(ctrl, CTRL.pending, 1) === 1) Atomics.notify(ctrl, CTRL.pending);
}
