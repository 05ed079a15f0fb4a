/** Starts the vmaplab kernel: brings up the engine's devices, then serves the Jupyter protocol. */
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";
import * as engine from "../engine/index.js";
import { readConnectionFile } from "./connection.js";
import { Kernel, log } from "./kernel.js";

export { Kernel } from "./kernel.js";
export { Evaluator } from "./evaluator.js";
export { transformCell } from "./cell-transform.js";

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
    tree: engine.tree,
    lax: engine.lax,
    nn: engine.nn,
    random: engine.random,
    makeJaxpr: engine.makeJaxpr,
    ShapeDtypeStruct: engine.ShapeDtypeStruct,
    devices: engine.devices,
    defaultDevice: engine.defaultDevice,
    blockUntilReady: engine.blockUntilReady,
  };
}

export async function runKernel(connectionFile: string): Promise<void> {
  const connection = readConnectionFile(connectionFile);
  let deviceNote: string;
  try {
    await engine.init();
    const reason = engine.webgpuUnavailableReason();
    deviceNote = `default device: ${engine.defaultDevice().id}${reason ? ` (WebGPU unavailable: ${reason})` : ""}`;
  } catch (e) {
    deviceNote = `default device: cpu:0 (${(e as Error).message})`;
  }
  log(deviceNote);
  const ts = require("typescript") as { version: string };
  const kernel = new Kernel({
    connection,
    engineEntry: fileURLToPath(new URL("../engine/index.js", import.meta.url)),
    scope: cellScope(),
    banner: `vmaplab ${packageVersion()}: TypeScript ${ts.version} with a JAX-style engine (jnp, makeJaxpr); ${deviceNote}`,
    implementationVersion: packageVersion(),
    languageVersion: ts.version,
    onShutdown: () => engine.releaseDevices(),
  });
  await kernel.start();
}
