/** Starts the vmaplab kernel: brings up the engine's devices, then serves the Jupyter protocol. */
import { createRequire } from "node:module";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import * as engine from "../engine/index.js";
import { Kernel } from "./kernel.js";
import { plot } from "./charts.js";
import { log } from "./log.js";

export { Kernel } from "./kernel.js";
export { Evaluator } from "./evaluator.js";

const require = createRequire(import.meta.url);

export function packageVersion(): string {
  return (require("../../package.json") as { version: string }).version;
}

/** The engine API every cell sees without importing it (JAX users' usual names). */
export function cellScope(): Record<string, unknown> {
  return {
    vmaplab: engine,
    jnp: engine.jnp,
    numpy: engine.numpy,
    lax: engine.lax,
    nn: engine.nn,
    random: engine.random,
    tree: engine.tree,
    makeJaxpr: engine.makeJaxpr,
    vmap: engine.vmap,
    ShapeDtypeStruct: engine.ShapeDtypeStruct,
    devices: engine.devices,
    defaultDevice: engine.defaultDevice,
    blockUntilReady: engine.blockUntilReady,

    // [jit] cell scope
    jit: engine.jit,
    // [end jit]

    // [control-flow] cell scope
    // [end control-flow]

    // [autodiff] cell scope
    jvp: engine.jvp,
    linearize: engine.linearize,
    vjp: engine.vjp,
    grad: engine.grad,
    valueAndGrad: engine.valueAndGrad,
    jacfwd: engine.jacfwd,
    jacrev: engine.jacrev,
    hessian: engine.hessian,
    customJvp: engine.customJvp,
    customVjp: engine.customVjp,
    // [end autodiff]

    // [pmap] cell scope
    pmap: engine.pmap,
    // [end pmap]

    // [magics] cell scope
    plot,
    // [end magics]
  };
}

function historyFile(): string {
  if (process.env.VMAPLAB_HISTORY) return process.env.VMAPLAB_HISTORY;
  const data = process.env.XDG_DATA_HOME ?? path.join(os.homedir(), ".local", "share");
  return path.join(data, "vmaplab", "history.jsonl");
}

/**
 * The protocol thread starts first, so Jupyter gets its kernel_info reply at once; the WebGPU device
 * and the TypeScript compiler come up meanwhile (the first cell waits for them if it must).
 */
export async function runKernel(connectionFile: string): Promise<void> {
  const tsVersion = (require("typescript/package.json") as { version: string }).version;
  const engineEntry = fileURLToPath(new URL("../engine/index.js", import.meta.url));
  const devicesReady = engine
    .init()
    .then(() => {
      const reason = engine.webgpuUnavailableReason();
      log(`default device: ${engine.defaultDevice().id}${reason ? ` (WebGPU unavailable: ${reason})` : ""}`);
    })
    .catch((e: unknown) => log(`default device: cpu:0 (${(e as Error).message})`));
  const kernel = new Kernel({
    connectionFile,
    engineEntry,
    engineTypes: engineEntry.replace(/\.js$/, ".d.ts"),
    historyFile: historyFile(),
    scope: cellScope(),
    info: {
      banner: `vmaplab ${packageVersion()}: TypeScript ${tsVersion} with a JAX-style engine (jnp, lax, nn, random, makeJaxpr); devices() lists the devices`,
      implementationVersion: packageVersion(),
      languageVersion: tsVersion,
    },
    ready: devicesReady,
    onShutdown: () => engine.releaseDevices(),
  });
  kernel.start();
}
