/**
 * pmap against independent references: on two CPU devices (`VMAPLAB_CPU_DEVICES=2`, the threads of
 * the CPU executor's pool) `pmap(f)(xs)` must equal `vmap(f)(xs)` computed by the reference
 * interpreter (cpu-reference) and a per-example loop, for the rule-checker's kinds of functions:
 * elementwise, matvec with shared weights, reductions, other in/out axes, pytrees, and the
 * collectives (psum, pmean, pmax, allGather, axisIndex) that make shards talk to each other.
 */
process.env.VMAPLAB_CPU_DEVICES = "2";

import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import {
  defaultDevice,
  devices,
  grad,
  init,
  jit,
  jnp,
  lax,
  pmap,
  type PmapOptions,
  releaseDevices,
  vmap,
  type Array as JaxArray,
} from "../engine/index.js";
import { assertAllClose } from "./helpers/allclose.js";
import type { WasmDevice } from "../engine/backend/wasm/wasm-device.js";

type Nested = number | boolean | Nested[];

/** A value's lists, with every array leaf of a pytree read back. */
async function lists(x: unknown): Promise<unknown> {
  if (Array.isArray(x)) return Promise.all(x.map(lists));
  if (x !== null && typeof x === "object" && !("tolist" in x))
    return Object.fromEntries(
      await Promise.all(Object.entries(x).map(async ([k, v]) => [k, await lists(v)] as const)),
    );
  return (x as JaxArray).tolist();
}

/** The numbers of nested lists and objects, in order, and their structure with numbers blanked. */
const flat = (x: unknown): number[] =>
  Array.isArray(x)
    ? x.flatMap(flat)
    : x !== null && typeof x === "object"
      ? Object.values(x).flatMap(flat)
      : [Number(x)];
const structure = (x: unknown): string =>
  JSON.stringify(x, (_, v: unknown) => (typeof v === "number" ? 0 : v));

/** Deterministic test data of a shape (no RNG: values from a formula). */
function data(shape: number[], seed = 1): Nested {
  const size = shape.reduce((a, b) => a * b, 1);
  const flat = Array.from({ length: size }, (_, i) => Math.sin(seed * 12.9898 + i * 78.233) * 2);
  const nest = (off: number, dims: number[]): Nested =>
    dims.length === 0
      ? flat[off]
      : Array.from({ length: dims[0] }, (_, k) => nest(off * dims[0] + k, dims.slice(1)));
  return nest(0, shape);
}

/** Runs `body` with the reference interpreter as the default device (the oracle). */
async function onReference<T>(body: () => Promise<T>): Promise<T> {
  const previous = defaultDevice();
  defaultDevice("cpu-reference");
  try {
    return await body();
  } finally {
    defaultDevice(previous.id);
  }
}

/** pmap on the CPU devices, vmap on cpu-reference: both read back as nested lists. */
async function compare(
  f: (...args: never[]) => unknown,
  args: () => unknown[],
  options: PmapOptions = {},
): Promise<unknown> {
  const got = await lists(pmap(f, options)(...(args() as never[])));
  const { devices: _ignored, ...vmapOptions } = options;
  void _ignored;
  const want = await onReference(async () => lists(vmap(f, vmapOptions)(...(args() as never[]))));
  // Element by element (assertAllClose prints whole arrays, too slow for the larger cases).
  const a = flat(got);
  const e = flat(want);
  assert.equal(structure(got), structure(want));
  const bad = a.findIndex((v, i) => !(Math.abs(v - e[i]) <= 1e-5 + 1e-5 * Math.abs(e[i])));
  assert.equal(bad, -1, `element ${bad}: pmap gave ${a[bad]}, vmap on cpu-reference ${e[bad]}`);
  return got;
}

describe("pmap on two CPU devices", () => {
  before(() => {
    defaultDevice("cpu");
  });

  it("lists the CPU executor's threads as devices", () => {
    const cpus = devices("cpu");
    assert.deepEqual(
      cpus.map((d) => d.id),
      ["cpu:0", "cpu:1"],
    );
    assert.equal(cpus[0], defaultDevice());
    assert.ok(cpus.every((d) => d.kind === "cpu"));
  });

  it("splits int32, bool and float32 arguments into the right shards (copied on the device)", async () => {
    const ints = [
      [1, -2, 3],
      [40, 50, -60],
    ];
    const flags = [
      [true, false, true, true],
      [false, false, true, false],
    ];
    const f = (i: JaxArray, b: JaxArray, x: JaxArray) => [jnp.sum(i), jnp.sum(b.astype("int32")), jnp.sum(x)];
    const [si, sb, sx] = pmap(f)(
      jnp.array(ints, { dtype: "int32" }),
      jnp.array(flags),
      jnp.array([
        [0.5, 0.25],
        [8, 16],
      ]),
    ) as JaxArray[];
    assert.deepEqual(await si.tolist(), [2, 30]);
    assert.deepEqual(await sb.tolist(), [3, 1]);
    assert.deepEqual(await sx.tolist(), [0.75, 24]);
  });

  it("maps an elementwise function (equal to vmap and to a per-example loop)", async () => {
    const xs = () => jnp.array(data([2, 5]));
    const f = (x: JaxArray) =>
      jnp
        .sin(x)
        .mul(2)
        .add(jnp.exp(x.mul(-0.5)));
    const got = (await compare(f, () => [xs()])) as number[][];
    const loop = await Promise.all([0, 1].map(async (k) => (await f([...xs()][k]).tolist()) as number[]));
    assertAllClose(got, loop);
  });

  it("maps a matvec with a closed-over weight and with an unmapped weight argument", async () => {
    const W = () => jnp.array(data([6, 40], 3));
    const xs = () => jnp.array(data([2, 40], 4));
    await compare(
      (x: JaxArray) => jnp.tanh(jnp.dot(W(), x)),
      () => [xs()],
    );
    await compare(
      (w: JaxArray, x: JaxArray) => jnp.tanh(jnp.dot(w, x)),
      () => [W(), xs()],
      { inAxes: [null, 0] },
    );
  });

  it("maps a vmapped MLP layer over shards large enough for the compiled multi-threaded kernels", async () => {
    const W = () => jnp.array(data([64, 96], 5));
    const xs = () => jnp.array(data([2, 300, 96], 6));
    const layer = (x: JaxArray) => jnp.tanh(jnp.dot(W(), x).mul(0.1));
    await compare(vmap(layer), () => [xs()]);
  });

  it("runs the shards' programs side by side on the pool's threads", async () => {
    const cpu = defaultDevice() as WasmDevice;
    const count = () => cpu.stats.concurrentShards;
    // Shard 1 runs on a worker thread: its rows are right only if the worker ran its calls.
    const W = () => jnp.array(data([48, 64], 15));
    const xs = () => jnp.array(data([2, 200, 64], 16));
    const mlp = (x: JaxArray) => jnp.tanh(jnp.dot(x, W().T)).sum(1);
    let before = count();
    await compare(mlp, () => [xs()]);
    assert.ok(count() > before, "the MLP's shards ran concurrently");
    // Steps without a wasm kernel (cumsum, gather, sort) run as host steps between the threads' runs.
    before = count();
    await compare(
      (x: JaxArray) =>
        jnp.take(jnp.sort(jnp.cumsum(x.mul(2), 1), 1), jnp.array([2, 0], { dtype: "int32" }), 0),
      () => [jnp.array(data([2, 3, 5], 17))],
    );
    assert.ok(count() > before, "programs with host steps ran concurrently too");
    // Collectives cut the program: each piece runs concurrently, the shards meet in between.
    before = count();
    await compare(
      (x: JaxArray) => jnp.exp(x.sub(lax.pmax(x, "i"))).div(lax.psum(jnp.exp(x.sub(lax.pmax(x, "i"))), "i")),
      () => [jnp.array(data([2, 7], 18))],
      { axisName: "i" },
    );
    assert.ok(count() >= before + 2, "each piece between collectives ran concurrently");
  });

  it("runs more shards than threads, and falls back to one by one where it must", async () => {
    const cpu = defaultDevice() as WasmDevice;
    process.env.VMAPLAB_CPU_DEVICES = "5";
    try {
      // 5 shards on the pool's threads (each thread takes every t-th shard).
      await compare(
        (x: JaxArray) => jnp.tanh(x.mul(x).sum()).add(x),
        () => [jnp.array(data([5, 33], 19))],
      );
    } finally {
      process.env.VMAPLAB_CPU_DEVICES = "2";
    }
    // sin beyond the vector range reduction: the recorded run is dropped and redone exactly.
    const big = [
      [1e6, -3e5, 0.5],
      [7e4, 2.5, -1e7],
    ];
    const got = (await pmap((x: JaxArray) => jnp.sin(x))(jnp.array(big)).tolist()) as number[][];
    assertAllClose(
      got,
      big.map((r) => r.map((v) => Math.fround(Math.sin(Math.fround(v))))),
      { rtol: 1e-5, atol: 1e-6 },
    );
    // cond, while and scan: host steps between the threads' runs, each shard deciding for itself.
    const before = cpu.stats.concurrentShards;
    await compare(
      (x: JaxArray) =>
        lax.cond(
          x.sum().gt(0),
          (y: JaxArray) => y.mul(2),
          (y: JaxArray) => jnp.exp(y).sub(1),
          jnp.tanh(x),
        ),
      () => [
        jnp.array([
          [1, 2],
          [-3, -4],
        ]),
      ],
    );
    await compare(
      (x: JaxArray) =>
        lax.whileLoop(
          ([, n]: JaxArray[]) => n.lt(x.sum().abs().mul(3)),
          ([y, n]: JaxArray[]) => [y.mul(1.5).add(0.25), n.add(1)],
          [x.mul(2), jnp.array(0)],
        ),
      () => [jnp.array(data([2, 3], 20))],
    );
    await compare(
      (x: JaxArray) => lax.scan((c: JaxArray, v: JaxArray) => [c.mul(0.5).add(v), jnp.sin(c)], x.sum(), x)[1],
      () => [jnp.array(data([2, 6], 21))],
    );
    assert.ok(cpu.stats.concurrentShards >= before + 3, "cond, while and scan programs ran concurrently");
  });

  it("keeps side-by-side shards right in the corners review found", async () => {
    const cpu = defaultDevice() as WasmDevice;
    // A cond branch returning one array in two places.
    await compare(
      (x: JaxArray) =>
        lax.cond(
          x.sum().gt(0),
          (y: JaxArray) => {
            const z = y.mul(2);
            return [z, z];
          },
          (y: JaxArray) => [y, y.neg()],
          x,
        ),
      () => [
        jnp.array([
          [1, 2],
          [-3, -4],
        ]),
      ],
    );
    // A constant from another device, read inside a cond.
    defaultDevice("cpu-reference");
    const offset = jnp.array([0.5, -1.5]);
    defaultDevice("cpu");
    await compare(
      (x: JaxArray) =>
        lax.cond(
          x.sum().gt(0),
          (y: JaxArray) => y.add(offset),
          (y: JaxArray) => y.sub(offset),
          x,
        ),
      () => [
        jnp.array([
          [1, 2],
          [-3, -4],
        ]),
      ],
    );
    // A pool job that flagged sin arguments beyond range before: the next pmap still runs side by side.
    await jnp.sin(jnp.full([1 << 16], 1e7)).data();
    const before = cpu.stats.concurrentShards;
    await compare(
      (x: JaxArray) => jnp.cumsum(x, 0),
      () => [jnp.array(data([2, 9], 22))],
    );
    assert.equal(cpu.stats.concurrentShards, before + 1, "not mistaken for a flagged run");
  });

  it("says when the shards do not fit in memory, and frees what they had made", async () => {
    const cpu = defaultDevice() as WasmDevice;
    const x = jnp.array(data([2, 4], 23));
    await x.data();
    // A 4 GiB intermediate per shard: more than the 2 GiB heap, after a small one was made.
    const f = pmap((v: JaxArray) => jnp.broadcastTo(v.mul(2), [1 << 14, 1 << 14, 4]).sum());
    assert.throws(() => f(x), /wasm heap: out of memory/);
    // The first call compiled the program (its constants stay with it); a second failing call
    // leaves nothing behind.
    const before = cpu.heap.stats().liveBytes;
    assert.throws(() => f(x), /wasm heap: out of memory/);
    assert.equal(cpu.heap.stats().liveBytes, before, "no bytes left behind");
    // The device keeps working.
    await compare(
      (v: JaxArray) => v.mul(3),
      () => [jnp.array(data([2, 3], 24))],
    );
  });

  it("maps reductions", async () => {
    const xs = () => jnp.array(data([2, 3, 4]));
    await compare(
      (x: JaxArray) => x.sum(),
      () => [xs()],
    );
    await compare(
      (x: JaxArray) => jnp.max(x, 1),
      () => [xs()],
    );
    await compare(
      (x: JaxArray) => jnp.mean(x.mul(x), 0),
      () => [xs()],
    );
  });

  it("maps along inAxes 1 and stacks along outAxes 1", async () => {
    const xs = () => jnp.array(data([3, 2, 4]));
    const got = (await compare(
      (x: JaxArray) => jnp.cumsum(x, 1),
      () => [xs()],
      {
        inAxes: 1,
        outAxes: 1,
      },
    )) as number[][][];
    assert.equal(got.length, 3);
    assert.equal(got[0].length, 2);
    await compare(
      (x: JaxArray) => x.sum(0),
      () => [xs()],
      { inAxes: -2, outAxes: -1 },
    );
  });

  it("maps pytree arguments and results", async () => {
    const args = () => [
      { a: jnp.array(data([2, 3], 7)), b: jnp.array(data([3], 8)) },
      [jnp.array(data([2], 9))],
    ];
    const f = (p: { a: JaxArray; b: JaxArray }, [c]: JaxArray[]) => ({
      s: p.a.add(p.b),
      t: [p.a.mul(c), c.mul(2)],
    });
    const got = (await compare(f as never, args, { inAxes: [{ a: 0, b: null }, 0] })) as {
      s: number[][];
      t: [number[][], number[]];
    };
    assert.equal(got.s.length, 2);
    assert.equal(got.t[1].length, 2);
  });

  it("normalises a batch with pmean across devices (batch-norm style)", async () => {
    const xs = () => jnp.array(data([2, 5], 10));
    const norm = (x: JaxArray) => {
      const mean = lax.pmean(x, "batch");
      const centred = x.sub(mean);
      const variance = lax.pmean(centred.mul(centred), "batch");
      return centred.div(jnp.sqrt(variance.add(1e-5)));
    };
    const got = (await compare(norm, () => [xs()], { axisName: "batch" })) as number[][];
    // Independent reference: the two rows normalised by hand.
    const rows = data([2, 5], 10) as number[][];
    for (let j = 0; j < 5; j++) {
      const m = (rows[0][j] + rows[1][j]) / 2;
      const v = ((rows[0][j] - m) ** 2 + (rows[1][j] - m) ** 2) / 2;
      for (let k = 0; k < 2; k++)
        assertAllClose(got[k][j], (rows[k][j] - m) / Math.sqrt(v + 1e-5), { rtol: 1e-4, atol: 1e-4 });
    }
  });

  it("combines shards with psum, pmax, allGather and axisIndex", async () => {
    const xs = () => jnp.array(data([2, 3], 11));
    const got = (await compare(
      (x: JaxArray) => lax.psum(x, "i"),
      () => [xs()],
      { axisName: "i" },
    )) as number[][];
    const rows = data([2, 3], 11) as number[][];
    assertAllClose(
      got[1],
      [0, 1, 2].map((j) => rows[0][j] + rows[1][j]),
    );
    await compare(
      (x: JaxArray) => x.div(lax.pmax(jnp.abs(x), "i")),
      () => [xs()],
      { axisName: "i" },
    );
    await compare(
      (x: JaxArray) => lax.psum(1, "i").mul(x),
      () => [xs()],
      { axisName: "i" },
    );
    const gathered = (await compare(
      (x: JaxArray) => lax.allGather(x, "i", { axis: 1 }),
      () => [xs()],
      {
        axisName: "i",
      },
    )) as number[][][];
    assert.deepEqual([gathered.length, gathered[0].length, gathered[0][0].length], [2, 3, 2]);
    assert.deepEqual(
      await pmap((x: JaxArray) => lax.axisIndex("i").add(x.astype("int32").mul(0)), { axisName: "i" })(
        xs(),
      ).tolist(),
      [
        [0, 0, 0],
        [1, 1, 1],
      ],
    );
  });

  it("returns a replicated value once with outAxes null (the first device's)", async () => {
    const xs = () => jnp.array(data([2, 3], 12));
    const got = await pmap((x: JaxArray) => lax.psum(x, "i"), { axisName: "i", outAxes: null })(
      xs(),
    ).tolist();
    const rows = data([2, 3], 12) as number[][];
    assertAllClose(
      got as number[],
      [0, 1, 2].map((j) => rows[0][j] + rows[1][j]),
    );
  });

  it("composes with jit both ways, and with grad", async () => {
    const xs = () => jnp.array(data([2, 4], 13));
    const f = (x: JaxArray) => jnp.tanh(x.sub(lax.pmean(x, "i"))).mul(x);
    const want = await vmap(f, { axisName: "i" })(xs()).tolist();
    assertAllClose((await pmap(jit(f), { axisName: "i" })(xs()).tolist()) as Nested, want as Nested);
    assertAllClose((await jit(pmap(f, { axisName: "i" }))(xs()).tolist()) as Nested, want as Nested);
    const loss = (g: typeof f) => (x: JaxArray) => g(x).sum();
    assertAllClose(
      (await grad(loss(pmap(f, { axisName: "i" })))(xs()).tolist()) as Nested,
      (await grad(loss(vmap(f, { axisName: "i" })))(xs()).tolist()) as Nested,
    );
  });

  it("traces once per shard signature", async () => {
    let traces = 0;
    const f = pmap((x: JaxArray) => {
      traces++;
      return x.mul(3);
    });
    for (let k = 0; k < 3; k++)
      assertAllClose((await f(jnp.array([[1], [k]])).tolist()) as Nested, [[3], [3 * k]]);
    assert.equal(traces, 1);
    await f(
      jnp.array([
        [1, 2],
        [3, 4],
      ]),
    );
    assert.equal(traces, 2);
  });

  it("says when the mapped size does not match the devices", () => {
    const f = (x: JaxArray) => x.mul(2);
    assert.throws(
      () => pmap(f)(jnp.ones([3, 4])),
      /requires 3 logical devices, but only 2 cpu devices are available: args\[0\] of shape \(3, 4\) is mapped along axis 0 with size 3/,
    );
    assert.throws(
      () => pmap(f, { devices: devices("cpu") })(jnp.ones([4, 1])),
      /must equal the number of devices passed to pmap: args\[0\] of shape \(4, 1\) is mapped along axis 0 with size 4, but 2 devices were given \(cpu:0, cpu:1\)/,
    );
    assert.throws(
      () => pmap(f, { inAxes: 1, devices: devices("cpu").slice(0, 1) })(jnp.ones([3, 2])),
      /args\[0\] of shape \(3, 2\) is mapped along axis 1 with size 2, but 1 device was given \(cpu:0\)/,
    );
  });

  it("says when mapped sizes disagree, specs do not fit, or pmaps nest", () => {
    assert.throws(
      () => pmap((x: JaxArray, y: JaxArray) => x.add(y))(jnp.ones([2, 3]), jnp.ones([3, 3])),
      /pmap got inconsistent sizes for array axes to be mapped:\n {2}\* axis 0 of args\[0\] of type f32\[2,3\] has size 2\n {2}\* axis 0 of args\[1\] of type f32\[3,3\] has size 3/,
    );
    assert.throws(
      () => pmap((x: JaxArray) => x, { inAxes: 2 })(jnp.ones([2, 3])),
      /pmap: axis 2 is out of bounds/,
    );
    assert.throws(() => pmap((x: JaxArray) => x, { inAxes: null })(jnp.ones([2])), /at least one non-null/);
    assert.throws(
      () => pmap((x: JaxArray) => pmap((y: JaxArray) => y)(x.reshape([2, 1])))(jnp.ones([2, 2])),
      /nested pmap is not supported/,
    );
    assert.throws(
      () =>
        pmap(
          (x: JaxArray) =>
            lax.cond(
              x.sum().gt(0),
              (y: JaxArray) => lax.psum(y, "i"),
              (y: JaxArray) => y,
              x,
            ),
          { axisName: "i" },
        )(jnp.ones([2, 2])),
      /collective over axis 'i' inside cond is not supported/,
    );
  });
});

describe("pmap on the WebGPU device", () => {
  before(async () => {
    await init();
  });
  after(() => releaseDevices());

  it("maps over devices('webgpu') like vmap (one adapter: an axis of size 1)", async () => {
    const gpus = devices("webgpu");
    assert.equal(gpus.length, 1, "one WebGPU adapter is expected");
    defaultDevice("webgpu");
    try {
      const xs = jnp.array(data([1, 8], 14));
      const f = (x: JaxArray) => jnp.tanh(x.sub(lax.pmean(x, "i"))).add(x.sum());
      const got = await pmap(f, { axisName: "i", devices: gpus })(xs).tolist();
      assertAllClose(got as Nested, (await vmap(f, { axisName: "i" })(xs).tolist()) as Nested);
    } finally {
      defaultDevice("cpu");
    }
  });
});
