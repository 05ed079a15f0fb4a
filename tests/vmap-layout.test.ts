/**
 * Layout canonicalisation around dot_general (engine/compiler/dot-layout.ts): `jit(vmap(f))` compiles
 * to as many kernels as the hand-batched function on both executors (and computes the same values),
 * and the rewrites preserve values against the reference executor (`cpu-reference`, eager) for
 * several layouts: transposes sunk through elementwise chains (unary, bias broadcasts, full-size side
 * operands, batch dims, several free axes) and operand transposes folded into the product.
 */
import assert from "node:assert/strict";
import { it } from "node:test";
import { defaultDevice, jit, jnp, lax, makeJaxpr, vmap, type Array } from "../engine/index.js";
import { canonicalizeForKernels } from "../engine/compiler/canonicalize.js";
import { inlineCalls } from "../engine/compiler/inline.js";
import { Primitive } from "../engine/core/primitive.js";
import { assertAllClose } from "./helpers/allclose.js";
import { describeEachDevice, type DeviceName } from "./helpers/devices.js";

function values(n: number, seed: number, scale: number): Float32Array {
  let s = seed * 7919;
  return Float32Array.from({ length: n }, () => {
    s = (s * 1103515245 + 12345) % 2147483648;
    return ((s / 2147483648) * 2 - 1) * scale;
  });
}

function arrayOn(device: string, shape: number[], seed: number, scale = 1): Array {
  defaultDevice(device);
  const n = shape.reduce((a, b) => a * b, 1);
  return jnp.array(values(n, seed, scale)).reshape(shape);
}

/** The primitives of f's jaxpr after inlining and canonicalisation (what the compilers plan). */
function canonicalPrimitives(f: (...xs: Array[]) => Array, args: Array[]): Primitive[] {
  const { jaxpr } = inlineCalls(makeJaxpr(f)(...args).jaxpr);
  return canonicalizeForKernels(jaxpr).eqns.map((e) => e.primitive);
}

async function assertClose(got: Array, want: Array): Promise<void> {
  assert.deepEqual(got.shape, want.shape);
  assertAllClose(await got.tolist(), await want.tolist(), { rtol: 2e-5, atol: 2e-5 });
}

/** jit(f) on `device` against f run eagerly on the reference executor; returns the kernel count. */
async function checkAgainstReference(
  device: DeviceName,
  f: (...xs: Array[]) => Array,
  shapes: number[][],
): Promise<number> {
  const ref = shapes.map((s, k) => arrayOn("cpu-reference", s, k + 1));
  const want = f(...ref);
  const args = shapes.map((s, k) => arrayOn(device, s, k + 1));
  const jitted = jit(f);
  await assertClose(jitted(...args), want);
  return jitted.lower(...args).compile().kernelCount;
}

describeEachDevice("jit(vmap(f)) compiles like the hand-batched function", (device) => {
  it("matvec with a shared weight: tanh(W·x) over a batch", async () => {
    const W = arrayOn(device, [24, 16], 1, 0.25);
    const WT = W.T;
    const xs = arrayOn(device, [10, 16], 2);
    const vmapped = jit(vmap((x: Array) => jnp.tanh(jnp.matmul(W, x))));
    const byHand = jit((b: Array) => jnp.tanh(jnp.matmul(b, WT)));
    await assertClose(vmapped(xs), byHand(xs));
    const kv = vmapped.lower(xs).compile().kernelCount;
    assert.equal(kv, byHand.lower(xs).compile().kernelCount);
    // The product with tanh as its epilogue (WebGPU) or the product plus one tanh kernel (wasm).
    assert.equal(kv, device === "webgpu" ? 1 : 2);
    // The transpose vmap traces (JAX's jaxpr: transpose(tanh(W·xsᵀ))) is gone from the program.
    assert.ok(
      !canonicalPrimitives(
        vmap((x: Array) => jnp.tanh(jnp.matmul(W, x))),
        [xs],
      ).includes(Primitive.Transpose),
    );
  });

  it("MLP 12-16-8-3 with biases and tanh over a batch", async () => {
    const sizes = [12, 16, 8, 3];
    const layers = sizes.slice(1).map((out, k) => ({
      w: arrayOn(device, [out, sizes[k]], 10 + k, 0.3),
      b: arrayOn(device, [out], 20 + k, 0.1),
    }));
    const mlp = (x: Array) => {
      let h = x;
      layers.forEach(({ w, b }, k) => {
        h = jnp.add(jnp.matmul(w, h), b);
        if (k < layers.length - 1) h = jnp.tanh(h);
      });
      return h;
    };
    const mlpBatched = (xs: Array) => {
      let h = xs;
      layers.forEach(({ w, b }, k) => {
        h = jnp.add(jnp.matmul(h, w.T), b);
        if (k < layers.length - 1) h = jnp.tanh(h);
      });
      return h;
    };
    const xs = arrayOn(device, [9, 12], 3);
    const vmapped = jit(vmap(mlp));
    const byHand = jit(mlpBatched);
    await assertClose(vmapped(xs), byHand(xs));
    const kv = vmapped.lower(xs).compile().kernelCount;
    assert.equal(kv, byHand.lower(xs).compile().kernelCount);
    // One product per layer (bias and tanh fused on WebGPU, one elementwise kernel each on wasm).
    assert.equal(kv, device === "webgpu" ? 3 : 6);
    // Both canonicalise to the same equations: x·Wᵀ products, no transposes.
    const pv = canonicalPrimitives(vmap(mlp), [xs]);
    assert.deepEqual(pv, canonicalPrimitives(mlpBatched, [xs]));
    assert.ok(!pv.includes(Primitive.Transpose));
  });
});

describeEachDevice("layout canonicalisation preserves values", (device) => {
  const dg = (a: Array, b: Array, c: [number[], number[]], bt: [number[], number[]] = [[], []]) =>
    lax.dotGeneral(a, b, [c, bt]);

  it("sinks a transpose through unary ops into the product", async () => {
    const f = (a: Array, b: Array) => jnp.transpose(jnp.exp(jnp.tanh(dg(a, b, [[1], [1]])).mul(0.5)));
    assert.ok(
      !canonicalPrimitives(f, [arrayOn(device, [6, 8], 1), arrayOn(device, [5, 8], 2)]).includes(
        Primitive.Transpose,
      ),
    );
    await checkAgainstReference(device, f, [
      [6, 8],
      [5, 8],
    ]);
  });

  it("sinks a transpose through a bias broadcast and a full-size side operand", async () => {
    // The side operand c is read through an index-only transpose; the bias keeps its broadcast.
    const f = (a: Array, b: Array, bias: Array, c: Array) =>
      jnp.transpose(
        jnp.tanh(
          dg(a, b, [[1], [0]])
            .add(bias.reshape([6, 1]))
            .mul(c),
        ),
      );
    await checkAgainstReference(device, f, [[6, 8], [8, 5], [6], [6, 5]]);
    // The result's transpose is gone from the end of the chain (only the side operands' remain).
    const fArgs = [[6, 8], [8, 5], [6], [6, 5]].map((sh, k) => arrayOn(device, sh, k + 1));
    assert.equal(canonicalPrimitives(f, fArgs).at(-1), Primitive.Tanh);
    const g = (a: Array, b: Array, bias: Array) => jnp.transpose(dg(a, b, [[0], [1]]).add(bias));
    await checkAgainstReference(device, g, [[8, 6], [5, 8], [5]]);
    const gArgs = [[8, 6], [5, 8], [5]].map((sh, k) => arrayOn(device, sh, k + 1));
    assert.ok(!canonicalPrimitives(g, gArgs).includes(Primitive.Transpose));
  });

  it("sinks transposes of batched products and of products with several free axes", async () => {
    const f = (a: Array, b: Array) => jnp.transpose(jnp.sin(jnp.matmul(a, b)), [0, 2, 1]);
    assert.ok(
      !canonicalPrimitives(f, [arrayOn(device, [3, 5, 8], 1), arrayOn(device, [3, 8, 6], 2)]).includes(
        Primitive.Transpose,
      ),
    );
    await checkAgainstReference(device, f, [
      [3, 5, 8],
      [3, 8, 6],
    ]);
    // A [5, 6] operand broadcast into the batched result: its dimensions cannot stay in order, so
    // it is transposed instead.
    const g = (a: Array, b: Array, c: Array) =>
      jnp.transpose(jnp.matmul(a, b).add(jnp.broadcastTo(c, [3, 5, 6])), [0, 2, 1]);
    await checkAgainstReference(device, g, [
      [3, 5, 8],
      [3, 8, 6],
      [5, 6],
    ]);
    // lhs free axes (2, 3), rhs free axis (4): the swap is the permutation (2, 0, 1).
    const h = (a: Array, b: Array) => jnp.transpose(jnp.abs(dg(a, b, [[2], [0]])), [2, 0, 1]);
    await checkAgainstReference(device, h, [
      [2, 3, 8],
      [8, 4],
    ]);
    // Not the swap of the free groups: stays a transpose, values still right.
    const k = (a: Array, b: Array) => jnp.transpose(jnp.abs(dg(a, b, [[2], [0]])), [1, 0, 2]);
    assert.ok(
      canonicalPrimitives(k, [arrayOn(device, [2, 3, 8], 1), arrayOn(device, [8, 4], 2)]).includes(
        Primitive.Transpose,
      ),
    );
    await checkAgainstReference(device, k, [
      [2, 3, 8],
      [8, 4],
    ]);
  });

  it("leaves a product read twice or a chain value that is also an output alone", async () => {
    const f = (a: Array, b: Array) => {
      const p = jnp.matmul(a, b);
      return jnp.transpose(p.mul(p)).add(jnp.transpose(jnp.tanh(p)));
    };
    await checkAgainstReference(device, f, [
      [4, 7],
      [7, 4],
    ]);
    const args = [arrayOn(device, [4, 7], 1), arrayOn(device, [7, 4], 2)];
    assert.equal(canonicalPrimitives(f, args).filter((p) => p === Primitive.Transpose).length, 2);
  });

  it("folds operand transposes that make the operand contiguous along k", async () => {
    const xwT = (x: Array, w: Array) => jnp.matmul(x, w.T);
    assert.ok(
      !canonicalPrimitives(xwT, [arrayOn(device, [5, 8], 1), arrayOn(device, [6, 8], 2)]).includes(
        Primitive.Transpose,
      ),
    );
    await checkAgainstReference(device, xwT, [
      [5, 8],
      [6, 8],
    ]);
    // lhs: transpose(a) contracted on its axis 0 is a contracted on its last axis.
    const lhs = (a: Array, b: Array) => dg(jnp.transpose(a), b, [[0], [1]]);
    assert.ok(
      !canonicalPrimitives(lhs, [arrayOn(device, [5, 8], 1), arrayOn(device, [6, 8], 2)]).includes(
        Primitive.Transpose,
      ),
    );
    await checkAgainstReference(device, lhs, [
      [5, 8],
      [6, 8],
    ]);
    // Batched: w [B, N, K] transposed to [B, K, N].
    const batched = (x: Array, w: Array) => jnp.matmul(x, jnp.transpose(w, [0, 2, 1]));
    await checkAgainstReference(device, batched, [
      [3, 5, 8],
      [3, 6, 8],
    ]);
    // w [N, B, K] with its batch axis in the middle: folding would leave groups that do not collapse.
    const midBatch = (x: Array, w: Array) => dg(x, jnp.transpose(w, [1, 0, 2]), [[2], [2]], [[0], [0]]);
    assert.ok(
      canonicalPrimitives(midBatch, [arrayOn(device, [3, 5, 8], 1), arrayOn(device, [6, 3, 8], 2)]).includes(
        Primitive.Transpose,
      ),
    );
    await checkAgainstReference(device, midBatch, [
      [3, 5, 8],
      [6, 3, 8],
    ]);
    // aᵀ·b with a [K, M]: folding would read a strided along k, so the transpose stays.
    const aTb = (a: Array, b: Array) => jnp.matmul(a.T, b);
    assert.ok(
      canonicalPrimitives(aTb, [arrayOn(device, [8, 5], 1), arrayOn(device, [8, 6], 2)]).includes(
        Primitive.Transpose,
      ),
    );
    await checkAgainstReference(device, aTb, [
      [8, 5],
      [8, 6],
    ]);
    // A transpose that reorders the free axes cannot fold (the result's axis order would change).
    const reorder = (x: Array, w: Array) => dg(x, jnp.transpose(w, [1, 0, 2]), [[1], [2]]);
    await checkAgainstReference(device, reorder, [
      [5, 8],
      [3, 4, 8],
    ]);
  });
});
