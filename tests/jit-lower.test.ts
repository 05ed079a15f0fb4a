/**
 * `jit(f).lower(...args)` and `.compile(device?)`: the lowered jaxpr is the one a call traces (same
 * cache, same text as makeJaxpr's inner jaxpr), the compiled program is the one a call runs (its
 * results equal the function's), the WebGPU compiler fuses an elementwise chain and a dense layer
 * into one kernel each and shows their WGSL, the CPU executor says it interprets, and bad arguments
 * or devices are errors naming jit(f).
 */
import assert from "node:assert/strict";
import { it } from "node:test";
import { Compiled, devices, jit, jnp, lax, Lowered, makeJaxpr, vmap, type Array } from "../engine/index.js";
import { ConcreteArray } from "../engine/core/concrete-array.js";
import { assertAllClose } from "./helpers/allclose.js";
import { describeEachDevice } from "./helpers/devices.js";

const chain = (a: Array) => jnp.exp(jnp.sin(a).mul(2).add(1)).sub(a);

describeEachDevice("jit(f).lower(...).compile()", (device) => {
  it("lowers to the jaxpr makeJaxpr traces, counting one trace shared with calls", async () => {
    const jf = jit(chain);
    const x = jnp.array([0.5, -1, 2]);
    const lowered = jf.lower(x);
    assert.ok(lowered instanceof Lowered);
    assert.equal(jf.traceCount, 1);
    assert.equal(
      lowered.asText(),
      [
        "{ lambda ; a:f32[3]. let",
        "    b:f32[3] = sin a",
        "    c:f32[3] = mul b 2.0:f32[]",
        "    d:f32[3] = add c 1.0:f32[]",
        "    e:f32[3] = exp d",
        "    f:f32[3] = sub e a",
        "  in (f,) }",
      ].join("\n"),
    );
    assert.deepEqual(
      lowered.inAvals.map((v) => v.strShort()),
      ["f32[3]"],
    );
    // A call with the same signature reuses the trace.
    const y = jf(x);
    assert.equal(jf.traceCount, 1);
    const want = [0.5, -1, 2].map((v) => Math.exp(2 * Math.sin(v) + 1) - v);
    assertAllClose(await y.tolist(), want);
    // The compiled program is the one the call ran; running it directly gives the same values.
    const compiled = lowered.compile();
    assert.ok(compiled instanceof Compiled);
    assert.equal(compiled.device.kind, device);
    const [out] = compiled.executable.run([x as ConcreteArray]);
    assertAllClose(await out.tolist(), want);
  });

  it("counts the kernels a call dispatches and shows the program", () => {
    const x = jnp.array([0.5, -1, 2]);
    const compiled = jit(chain).lower(x).compile();
    const w = jnp.array([
      [1, -2, 0.5, 0],
      [0.25, 3, -1, 1],
      [0, 0, 1, 2],
    ]);
    const b = jnp.array([0.1, 0.2, 0.3, 0.4]);
    const dense = (v: Array) => jnp.tanh(jnp.add(jnp.matmul(v, w), b));
    const layer = jit(dense)
      .lower(jnp.ones([2, 3]))
      .compile();
    const text = compiled.asText();
    if (device === "webgpu") {
      // Five elementwise equations fuse into one kernel; matmul + bias + tanh into one (fused epilogue).
      assert.equal(compiled.kernelCount, 1);
      assert.equal(layer.kernelCount, 1);
      assert.match(text, /^\/\/ kernel 1 of 1: fused elementwise kernel for f32\[3\]/);
      assert.equal(text.match(/@compute/g)?.length, 1);
      assert.match(text, /sin\(/);
      assert.match(text, /exp\(/);
      const layerText = layer.asText();
      assert.match(layerText, /\/\/ kernel 1 of 1: dot_general f32\[2,3\] x f32\[3,4\]/);
      assert.match(layerText, /tanh\(/);
    } else {
      // The wasm compiler: the five elementwise equations are one SIMD kernel; the layer is the
      // device's matmul, then bias + tanh fused.
      assert.equal(compiled.kernelCount, 1);
      assert.equal(layer.kernelCount, 2);
      assert.match(
        text,
        /^\/\/ kernel 1 of 1: fused wasm SIMD elementwise kernel for f32\[3\] \(sin, mul, add, exp, sub; 1 inputs\)/,
      );
      assert.match(
        layer.asText(),
        /kernel 1 of 2: dot_general[\s\S]*kernel 2 of 2: fused wasm SIMD elementwise/,
      );
      assert.doesNotMatch(text, /@compute/);
    }
  });

  it("compiles for another device by name or Device, and jit(vmap(f)) fuses too", async () => {
    const lowered = jit(vmap(chain)).lower(jnp.ones([4, 3]));
    assert.equal(lowered.outAvals[0].strShort(), "f32[4,3]");
    assert.equal(lowered.compile("cpu").device.id, "cpu:0");
    assert.equal(lowered.compile("cpu").kernelCount, 1);
    const gpu = devices().find((d) => d.kind === "webgpu")!;
    const onGpu = lowered.compile(gpu);
    assert.equal(onGpu.device, gpu);
    assert.equal(onGpu.kernelCount, 1);
    assert.match(onGpu.asText(), /@compute/);
    // A while loop is a host step between kernels: a comment, not WGSL.
    const halve = (v: Array) =>
      lax.whileLoop(
        (u: Array) => jnp.sum(u).gt(1),
        (u: Array) => u.mul(0.5),
        v.add(1),
      );
    const withLoop = jit(halve)
      .lower(jnp.ones([4], { dtype: "float32" }))
      .compile(gpu);
    assert.match(withLoop.asText(), /\/\/ host step: while \(runs through its impl/);
    assertAllClose(await jit(halve)(jnp.ones([4])).tolist(), [0.25, 0.25, 0.25, 0.25]);
  });

  it("rejects bad arguments and devices, naming jit(f)", () => {
    const jf = jit(chain);
    assert.throws(
      () => (jf.lower as (...a: unknown[]) => Lowered)("text"),
      /jit\(chain\): argument 0 of type string is not a valid array argument/,
    );
    const lowered = jf.lower(jnp.ones([2]));
    assert.throws(
      () => lowered.compile("tpu"),
      /jit\(chain\)\.lower\(\.\.\.\)\.compile: unknown device 'tpu'/,
    );
    assert.throws(
      () => lowered.compile(42 as unknown as string),
      /device must be a Device or a device name such as "cpu" or "webgpu", got 42/,
    );
    // Closing over a vmap tracer: the trace exists only inside that transform.
    assert.throws(
      () => vmap((v: Array) => jit((u: Array) => u.add(v)).lower(jnp.ones([2])))(jnp.ones([3, 2])),
      /jit\(<lambda>\)\.lower: the function closes over 1 value\(s\) of an outer transform/,
    );
    // makeJaxpr of a lowered function still works on the jitted function itself.
    assert.match(makeJaxpr(jf)(jnp.ones([2])).toString(), /pjit\[/);
  });
});
