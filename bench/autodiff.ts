/**
 * Per-example gradients of logistic regression (1024 examples × 512 features), as issue 7 asks:
 * `jit(vmap(grad(loss)))` against a loop of `jit(grad(loss))` per example (timed over the first 128
 * examples and scaled by 8) and against the jitted hand-derived batched gradient (σ(Xw) − y) x.
 */
import { defaultDevice, grad, jit, jnp, nn, vmap, type Array } from "../engine/index.js";
import { median, medianPair, settle, type Row } from "./common.js";

export async function autodiffRows(): Promise<Row[]> {
  const n = 1024;
  const d = 512;
  const loopN = 128;
  const rows: Row[] = [];
  const host = Float32Array.from({ length: n * d }, (_, i) => (((i * 7) % 29) / 29 - 0.5) * 0.2);
  const labels = Float32Array.from({ length: n }, (_, i) => ((i * 5) % 3 === 0 ? 1 : 0));
  const weights = Float32Array.from({ length: d }, (_, i) => ((i % 11) / 11 - 0.5) * 0.1);
  // softplus(z) - y z = -[y log σ(z) + (1 - y) log(1 - σ(z))], z = x.w
  const loss = (w: Array, x: Array, y: Array) => {
    const z = jnp.dot(x, w);
    return jnp.subtract(nn.softplus(z), jnp.mul(y, z));
  };
  for (const device of ["cpu", "webgpu"] as const) {
    defaultDevice(device);
    const X = jnp.array(host).reshape([n, d]);
    const Y = jnp.array(labels);
    const w = jnp.array(weights);
    const perExample = jit(vmap(grad(loss), { inAxes: [null, 0, 0] }));
    const handJit = jit((wv: Array, Xv: Array, Yv: Array) =>
      jnp.mul(jnp.subtract(nn.sigmoid(jnp.matmul(Xv, wv)), Yv).reshape([n, 1]), Xv),
    );
    const hand = () => handJit(w, X, Y);
    const rowsX = [...X].slice(0, loopN);
    const rowsY = [...Y].slice(0, loopN);
    const g = jit(grad(loss));
    const [vmapMs, handMs] = await medianPair(
      () => settle(perExample(w, X, Y)),
      () => settle(hand()),
      21,
    );
    const loopMs =
      (await median(async () => {
        await settle(rowsX.map((x, i) => g(w, x, rowsY[i])));
      }, 3)) *
      (n / loopN);
    const workload = `per-example gradients, logistic regression ${n}×${d}`;
    rows.push({
      workload,
      variant: `jit(vmap(grad(loss))), ${device}`,
      baseline: `loop of jit(grad(loss)), ${device} (${loopN} examples ×${n / loopN})`,
      medianMs: vmapMs,
      baselineMs: loopMs,
      ratio: vmapMs / loopMs,
    });
    rows.push({
      workload,
      variant: `jit(vmap(grad(loss))), ${device}`,
      baseline: `hand-batched jit((σ(Xw)−y)·x), ${device}`,
      medianMs: vmapMs,
      baselineMs: handMs,
      ratio: vmapMs / handMs,
    });
  }
  return rows;
}
