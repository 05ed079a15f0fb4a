/**
 * The wasm CPU executor's compiler: issue 6's workloads (c) and (d) as one fused program
 * (`WasmDevice.compile`, what jit runs on `cpu`) against the equation-by-equation interpreter (what
 * jit ran before), on the same jaxpr and inputs, results disposed each run.
 */
import { defaultDevice, grad, jnp, makeJaxpr, nn, vmap, type Array } from "../engine/index.js";
import type { ConcreteArray } from "../engine/core/concrete-array.js";
import { InterpretedExecutable } from "../engine/core/executable.js";
import type { WasmDevice } from "../engine/backend/wasm/wasm-device.js";
import { median, type Row } from "./common.js";
import { SIZES, WORKLOADS, values } from "./peers/workloads.js";

export async function cpuFusionRows(): Promise<Row[]> {
  const device = defaultDevice("cpu") as WasmDevice;
  const arr = (d: Float32Array, s: number[]) => jnp.array(d).reshape(s);
  const ex = arr(values(SIZES.elementwise.n, 10), [SIZES.elementwise.n]);
  const { examples, features } = SIZES.perExampleGrad;
  const loss = (w: Array, x: Array, y: Array) => {
    const z = jnp.dot(w, x);
    return nn.softplus(z).sub(y.mul(z));
  };
  const w = arr(values(features, 11, 0.1), [features]);
  const X = arr(values(examples * features, 12), [examples, features]);
  const y = jnp.array(Float32Array.from(values(examples, 13), (v) => (v > 0 ? 1 : 0)));
  const cases: [string, (...xs: Array[]) => Array, Array[]][] = [
    [
      WORKLOADS.elementwise,
      (x) =>
        jnp
          .sin(x)
          .mul(2)
          .add(jnp.exp(x.mul(x).neg())),
      [ex],
    ],
    [
      WORKLOADS.perExampleGrad,
      vmap(grad(loss), { inAxes: [null, 0, 0] }) as (...xs: Array[]) => Array,
      [w, X, y],
    ],
  ];
  const rows: Row[] = [];
  for (const [workload, f, args] of cases) {
    const cj = makeJaxpr(f)(...args);
    const inputs = [...(cj.consts as ConcreteArray[]), ...(args as ConcreteArray[])];
    const interpreted = new InterpretedExecutable(cj.jaxpr, device);
    const compiled = device.compile(cj.jaxpr);
    const run = (e: { run(x: ConcreteArray[]): ConcreteArray[] }) => () =>
      e.run(inputs).forEach((o) => o.dispose());
    const base = await median(run(interpreted), 9);
    const ms = await median(run(compiled), 9);
    rows.push({
      workload,
      variant: `cpu compiled (${compiled.kernelCount} kernels)`,
      baseline: `cpu interpreted (${interpreted.kernelCount} kernels)`,
      medianMs: ms,
      baselineMs: base,
      ratio: ms / base,
    });
  }
  return rows;
}
