/**
 * The batching-rule checker (issue 4): for every primitive in the registry, a small case is run
 * through `vmap` with each choice of batched operands, inAxes 0 / 1 / -1, outAxes 0 / last, batch
 * sizes 1 and 7, and nested vmap, and compared with a loop that applies the function to each example
 * on the CPU reference executor ("cpu-reference") and stacks the results on the host. A primitive without a case here
 * fails the coverage test, so a new primitive cannot arrive without its batching rule being checked.
 */
import assert from "node:assert/strict";
import { it } from "node:test";
import { ShapedArray } from "../engine/core/aval.js";
import { fromHost } from "../engine/core/from-host.js";
import { Primitive, type ParamsOf } from "../engine/core/primitive.js";
import { bind, type Tracer } from "../engine/core/trace.js";
import { getDevice } from "../engine/backend/devices.js";
import { hostArray, type DType, type TypedArray } from "../engine/dtype.js";
import { jit, jnp, lax, makeJaxpr, random, vmap } from "../engine/index.js";
import { assertAllClose } from "./helpers/allclose.js";
import { describeEachDevice } from "./helpers/devices.js";

/** How an operand's example values are drawn (domains keep every primitive well defined). */
type Kind = "f" | "pos" | "unit" | "gt1" | "int" | "bool" | "u32" | { index: number };

interface OperandSpec {
  shape: number[];
  kind: Kind;
}

interface Case {
  name: string;
  operands: OperandSpec[];
  fn: (...xs: Tracer[]) => Tracer | Tracer[];
}

const f = (...shape: number[]): OperandSpec => ({ shape, kind: "f" });
const of = (kind: Kind, ...shape: number[]): OperandSpec => ({ shape, kind });

function dtypeOf(kind: Kind): DType {
  if (typeof kind === "object" || kind === "int") return "int32";
  if (kind === "bool") return "bool";
  if (kind === "u32") return "uint32";
  return "float32";
}

/** Deterministic pseudo-random values (an LCG), so failures reproduce. */
function draw(kind: Kind, n: number, seed: number): TypedArray {
  const out = hostArray(dtypeOf(kind), n);
  let s = (seed * 2654435761) >>> 0 || 1;
  const next = () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
  for (let i = 0; i < n; i++) {
    const u = next();
    if (typeof kind === "object") out[i] = Math.floor(u * kind.index);
    else if (kind === "f") out[i] = u * 2 - 1;
    else if (kind === "pos") out[i] = 0.5 + u * 1.5;
    else if (kind === "unit") out[i] = u * 1.8 - 0.9;
    else if (kind === "gt1") out[i] = 1.1 + u * 2;
    else if (kind === "int") out[i] = Math.floor(u * 11) - 5;
    else if (kind === "bool") out[i] = u < 0.5 ? 1 : 0;
    else out[i] = Math.floor(u * 2 ** 32);
  }
  return out;
}

const size = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1);

/** Stacks example arrays (all of `shape`) along a new axis `axis` of the result. */
function stackAlong(examples: TypedArray[], shape: number[], axis: number): TypedArray {
  const outer = size(shape.slice(0, axis));
  const inner = size(shape.slice(axis));
  const out = hostArray(dtypeOfArray(examples[0]), examples.length * size(shape));
  examples.forEach((ex, b) => {
    for (let o = 0; o < outer; o++)
      for (let k = 0; k < inner; k++) out[(o * examples.length + b) * inner + k] = ex[o * inner + k];
  });
  return out;
}

function dtypeOfArray(a: TypedArray): DType {
  if (a instanceof Float32Array) return "float32";
  if (a instanceof Int32Array) return "int32";
  if (a instanceof Uint32Array) return "uint32";
  return "bool";
}

/** Example `b` of a batched host array whose batch axis is `axis`. */
function exampleOf(batched: TypedArray, shape: number[], axis: number, b: number): TypedArray {
  const outer = size(shape.slice(0, axis));
  const inner = size(shape.slice(axis + 1));
  const out = hostArray(dtypeOfArray(batched), outer * inner);
  for (let o = 0; o < outer; o++)
    for (let k = 0; k < inner; k++) out[o * inner + k] = batched[(o * shape[axis] + b) * inner + k];
  return out;
}

const cpu = () => getDevice("cpu-reference");
const toDevice = (host: TypedArray, shape: number[], onCpu = false) =>
  fromHost(host, new ShapedArray(shape, dtypeOfArray(host)), onCpu ? cpu() : undefined);
const results = (r: Tracer | Tracer[]): Tracer[] => (Array.isArray(r) ? r : [r]);

const prim1 =
  <P extends Primitive>(p: P, params: ParamsOf<P>) =>
  (...xs: Tracer[]) =>
    bind(p, xs, params);

// ---- The case table: at least one case per primitive -------------------------------------------

const UNARY_DOMAINS: [Primitive, Kind][] = [
  [Primitive.Neg, "f"],
  [Primitive.Sin, "f"],
  [Primitive.Cos, "f"],
  [Primitive.Tan, "f"],
  [Primitive.Exp, "f"],
  [Primitive.Log, "pos"],
  [Primitive.Tanh, "f"],
  [Primitive.Logistic, "f"],
  [Primitive.Sqrt, "pos"],
  [Primitive.Rsqrt, "pos"],
  [Primitive.Abs, "f"],
  [Primitive.Sign, "f"],
  [Primitive.Floor, "f"],
  [Primitive.Ceil, "f"],
  [Primitive.Log1p, "pos"],
  [Primitive.Expm1, "f"],
  [Primitive.Exp2, "f"],
  [Primitive.Cbrt, "f"],
  [Primitive.Asin, "unit"],
  [Primitive.Acos, "unit"],
  [Primitive.Atan, "f"],
  [Primitive.Sinh, "f"],
  [Primitive.Cosh, "f"],
  [Primitive.Asinh, "f"],
  [Primitive.Acosh, "gt1"],
  [Primitive.Atanh, "unit"],
  [Primitive.Erf, "f"],
  [Primitive.ErfInv, "unit"],
  [Primitive.IsFinite, "f"],
  [Primitive.Not, "bool"],
];

const BINARY_DOMAINS: [Primitive, Kind, Kind][] = [
  [Primitive.Add, "f", "f"],
  [Primitive.Sub, "f", "f"],
  [Primitive.Mul, "f", "f"],
  [Primitive.Div, "f", "pos"],
  [Primitive.Max, "f", "f"],
  [Primitive.Min, "f", "f"],
  [Primitive.Pow, "pos", "f"],
  [Primitive.Atan2, "f", "f"],
  [Primitive.Rem, "f", "pos"],
  [Primitive.Eq, "int", "int"],
  [Primitive.Ne, "int", "int"],
  [Primitive.Lt, "f", "f"],
  [Primitive.Le, "f", "f"],
  [Primitive.Gt, "f", "f"],
  [Primitive.Ge, "f", "f"],
  [Primitive.And, "bool", "bool"],
  [Primitive.Or, "bool", "bool"],
  [Primitive.Xor, "bool", "bool"],
];

function buildCases(): Case[] {
  const cases: Case[] = [];
  const add = (name: string, operands: OperandSpec[], fn: Case["fn"]) => cases.push({ name, operands, fn });
  for (const [p, kind] of UNARY_DOMAINS) add(p, [of(kind, 2, 3)], prim1(p, {} as ParamsOf<typeof p>));
  for (const [p, k1, k2] of BINARY_DOMAINS)
    add(p, [of(k1, 2, 3), of(k2, 2, 3)], prim1(p, {} as ParamsOf<typeof p>));
  // A batched array meeting an unbatched scalar, the case lax's scalar promotion produces.
  add("mul (array × scalar)", [f(2, 3), f()], prim1(Primitive.Mul, {}));
  add("round", [f(2, 3)], prim1(Primitive.Round, { rounding_method: 1 }));
  add("integer_pow", [f(2, 3)], prim1(Primitive.IntegerPow, { y: 3 }));
  add("select_n", [of("bool", 2, 3), f(2, 3), f(2, 3)], prim1(Primitive.SelectN, {}));
  add(
    "convert_element_type",
    [f(2, 3)],
    prim1(Primitive.ConvertElementType, { new_dtype: "int32", weak_type: false }),
  );
  add(
    "broadcast_in_dim",
    [f(3)],
    prim1(Primitive.BroadcastInDim, { shape: [2, 3], broadcast_dimensions: [1] }),
  );
  add("reshape", [f(2, 3)], prim1(Primitive.Reshape, { new_sizes: [3, 2], dimensions: null }));
  add("transpose", [f(2, 3)], prim1(Primitive.Transpose, { permutation: [1, 0] }));
  for (const p of [Primitive.ReduceSum, Primitive.ReduceMax, Primitive.ReduceMin, Primitive.ReduceProd])
    add(p, [f(2, 3)], prim1(p, { axes: [1] }));
  add("reduce_sum (all axes)", [f(2, 3)], prim1(Primitive.ReduceSum, { axes: [0, 1] }));
  for (const p of [Primitive.ReduceAnd, Primitive.ReduceOr])
    add(p, [of("bool", 2, 3)], prim1(p, { axes: [0] }));
  for (const p of [Primitive.Argmax, Primitive.Argmin])
    add(p, [f(2, 3)], prim1(p, { axes: [1], index_dtype: "int32" }));
  for (const p of [Primitive.Cumsum, Primitive.Cumprod, Primitive.Cummax, Primitive.Cummin])
    add(p, [f(2, 3)], prim1(p, { axis: 1, reverse: p === Primitive.Cumsum }));
  add(
    "dot_general",
    [f(2, 3), f(3, 4)],
    prim1(Primitive.DotGeneral, {
      dimension_numbers: [
        [[1], [0]],
        [[], []],
      ],
      precision: null,
      preferred_element_type: null,
    }),
  );
  add(
    "dot_general (batch dims)",
    [f(2, 2, 3), f(2, 3, 4)],
    prim1(Primitive.DotGeneral, {
      dimension_numbers: [
        [[2], [1]],
        [[0], [0]],
      ],
      precision: null,
      preferred_element_type: null,
    }),
  );
  add("concatenate", [f(2, 3), f(2, 1)], prim1(Primitive.Concatenate, { dimension: 1 }));
  add(
    "pad",
    [f(2, 3), f()],
    prim1(Primitive.Pad, {
      padding_config: [
        [1, 0, 0],
        [0, 2, 1],
      ],
    }),
  );
  add(
    "slice",
    [f(2, 5)],
    prim1(Primitive.Slice, { start_indices: [0, 1], limit_indices: [2, 5], strides: [1, 2] }),
  );
  add("rev", [f(2, 3)], prim1(Primitive.Rev, { dimensions: [1] }));
  add("squeeze", [f(2, 1, 3)], prim1(Primitive.Squeeze, { dimensions: [1] }));
  add(
    "dynamic_slice",
    [f(4, 5), of({ index: 3 }), of({ index: 3 })],
    prim1(Primitive.DynamicSlice, { slice_sizes: [2, 3] }),
  );
  add(
    "dynamic_update_slice",
    [f(4, 5), f(2, 3), of({ index: 3 }), of({ index: 3 })],
    prim1(Primitive.DynamicUpdateSlice, {}),
  );
  // Gathers and scatters with the params jnp's indexing gives them.
  // Gathers and scatters as jnp's indexing binds them (with the index reshapes it adds).
  add("gather", [f(5, 3), of({ index: 5 }, 2)], (x, i) => jnp.take(x, i, { axis: 0 }));
  const scatters: [string, (r: ReturnType<Tracer["at"]>, u: Tracer) => Tracer][] = [
    ["scatter", (r, u) => r.set(u)],
    ["scatter-add", (r, u) => r.add(u)],
    ["scatter-mul", (r, u) => r.multiply(u)],
    ["scatter-min", (r, u) => r.min(u)],
    ["scatter-max", (r, u) => r.max(u)],
  ];
  for (const [name, update] of scatters) {
    // Repeated indices (index range 3 for 4 updates) check the combiners; `set` gets distinct ones,
    // as a repeated index makes it pick one of the updates, which is order dependent.
    const fn =
      name === "scatter"
        ? (x: Tracer, i: Tracer, u: Tracer) =>
            update(x.at(jnp.add(jnp.multiply(i, 0), jnp.array([4, 0, 1, 3], { dtype: "int32" }))), u)
        : (x: Tracer, i: Tracer, u: Tracer) => update(x.at(i), u);
    add(name, [f(5, 3), of({ index: 3 }, 4), f(4, 3)], fn);
  }
  add("iota", [], () =>
    bind(Primitive.Iota, [], { dtype: "int32", shape: [2, 3], dimension: 1, sharding: null }),
  );
  add("iota + x", [f(2, 3)], (x) =>
    jnp.add(
      x,
      bind(Primitive.Iota, [], { dtype: "float32", shape: [2, 3], dimension: 0, sharding: null })[0],
    ),
  );
  add("sort", [f(2, 5)], prim1(Primitive.Sort, { dimension: 1, is_stable: true, num_keys: 1 }));
  add(
    "sort (keys and values)",
    [of("int", 2, 5), f(2, 5)],
    prim1(Primitive.Sort, { dimension: 0, is_stable: true, num_keys: 1 }),
  );
  add(
    "threefry2x32",
    [of("u32", 3), of("u32", 3), of("u32", 3), of("u32", 3)],
    prim1(Primitive.Threefry2x32, {}),
  );
  add("random_bits", [of("u32", 2)], prim1(Primitive.RandomBits, { bit_width: 32, shape: [3] }));
  add("random_split", [of("u32", 2)], prim1(Primitive.RandomSplit, { shape: [2] }));
  add("random_fold_in", [of("u32", 2), of("u32")], prim1(Primitive.RandomFoldIn, {}));
  const jitted = jit((x: Tracer, y: Tracer) => jnp.sin(x).mul(y).sum(0));
  add("pjit", [f(2, 3), f(2, 3)], (x, y) => jitted(x, y));
  add("stop_gradient", [f(2, 3)], prim1(Primitive.StopGradient, {}));
  add("random.uniform of a key", [of("u32", 2)], (k) => random.uniform(random.wrapKeyData(k), [3]));
  // [control-flow] cases
  // A batched predicate/index becomes a select of both branches; an unbatched one a cond of
  // batched branches.
  add("cond", [of("bool"), f(3)], (p, x) =>
    lax.cond(
      p,
      (y: Tracer) => y.mul(2),
      (y: Tracer) => jnp.sin(y),
      x,
    ),
  );
  add("switch", [of({ index: 3 }), f(3)], (i, x) =>
    lax.switch(i, [(y: Tracer) => y.add(1), (y: Tracer) => jnp.cos(y), (y: Tracer) => y.mul(y)], x),
  );
  // A batched bound makes the predicate batched (examples finish at different iterations).
  add("while", [f(3), of({ index: 4 })], (x, n) =>
    lax.whileLoop(
      ([i]: Tracer[]) => jnp.less(i, n),
      ([i, v]: Tracer[]) => [i.add(1), v.mul(0.5).add(1)],
      [jnp.array(0, { dtype: "int32" }), x],
    ),
  );
  add("scan", [f(3), f(4, 3)], (c, xs) =>
    lax.scan((c: Tracer, x: Tracer) => [c.mul(0.5).add(x), jnp.sin(c)] as const, c, xs),
  );
  // [end control-flow]
  return cases;
}

/** Primitives checked elsewhere, with the reason (they have no per-example meaning on their own). */
const CHECKED_ELSEWHERE: Partial<Record<Primitive, string>> = {
  [Primitive.Psum]:
    "collectives reduce across examples: tests/vmap.test.ts compares them with sums over the batch",
  [Primitive.Pmax]: "collective: tests/vmap.test.ts",
  [Primitive.Pmin]: "collective: tests/vmap.test.ts",
  [Primitive.AllGather]: "collective: tests/vmap.test.ts",
  [Primitive.AxisIndex]:
    "the example's index along a named axis: the test below compares it with the loop index",
  [Primitive.CustomLin]:
    "appears only in the linear jaxpr of a customVjp function, where the transpose replaces it by the user's bwd (vmap of grad of a customVjp function: tests/autodiff.test.ts)",
};

/** The primitives a case binds, found by tracing it on one example. */
function primitivesOf(c: Case): Set<Primitive> {
  const examples = c.operands.map((o, k) => toDevice(draw(o.kind, size(o.shape), k + 1), o.shape, true));
  const jaxpr = makeJaxpr((...xs: Tracer[]) => c.fn(...xs))(...examples);
  return new Set(jaxpr.eqns.map((e) => e.primitive));
}

interface Config {
  batched: boolean[];
  inAxis: number;
  outAxis: number;
  batch: number;
}

function configsFor(c: Case): Config[] {
  const n = c.operands.length;
  if (n === 0) return [{ batched: [], inAxis: 0, outAxis: 0, batch: 3 }];
  const masks: boolean[][] =
    n === 1
      ? [[true]]
      : [...c.operands.map((_, k) => c.operands.map((__, j) => j === k)), c.operands.map(() => true)];
  const out: Config[] = [];
  for (const batched of masks) {
    const minRank = Math.min(...c.operands.filter((_, k) => batched[k]).map((o) => o.shape.length));
    out.push({ batched, inAxis: 0, outAxis: 0, batch: 7 });
    out.push({ batched, inAxis: -1, outAxis: -1, batch: 1 });
    if (minRank >= 1) out.push({ batched, inAxis: 1, outAxis: 0, batch: 7 });
  }
  return out;
}

/** Result `r` of the vmapped function with its batch axis moved to the front, on the host. */
async function batchFirst(r: Tracer, outAxis: number): Promise<{ data: TypedArray; shape: number[] }> {
  const data = await r.data();
  const shape = [...r.shape];
  const axis = outAxis < 0 ? outAxis + shape.length : outAxis;
  const examples = Array.from({ length: shape[axis] }, (_, b) => exampleOf(data, shape, axis, b));
  const exShape = shape.filter((_, i) => i !== axis);
  return { data: stackAlong(examples, exShape, 0), shape: [shape[axis], ...exShape] };
}

const tolerance = { rtol: 2e-4, atol: 2e-5 };

async function checkConfig(c: Case, cfg: Config, seed: number): Promise<void> {
  const { batched, inAxis, outAxis, batch } = cfg;
  const exampleHosts = c.operands.map((o, k) =>
    Array.from({ length: batched[k] ? batch : 1 }, (_, b) =>
      draw(o.kind, size(o.shape), seed * 100 + k * 10 + b),
    ),
  );
  const axisFor = (k: number) => {
    const rank = c.operands[k].shape.length + 1;
    return inAxis < 0 ? inAxis + rank : inAxis;
  };
  const args = c.operands.map((o, k) => {
    if (!batched[k]) return toDevice(exampleHosts[k][0], o.shape);
    const axis = axisFor(k);
    const shape = [...o.shape];
    shape.splice(axis, 0, batch);
    return toDevice(stackAlong(exampleHosts[k], o.shape, axis), shape);
  });
  const inAxes = batched.map((b) => (b ? inAxis : null));
  const mapped = vmap((...xs: Tracer[]) => c.fn(...xs), {
    inAxes,
    outAxes: outAxis,
    axisSize: batched.some((b) => b) ? undefined : batch,
  });
  const outs = results(mapped(...args));
  // The reference: the function on each example, on the CPU reference executor.
  const perExample = Array.from({ length: batch }, (_, b) =>
    results(c.fn(...c.operands.map((o, k) => toDevice(exampleHosts[k][batched[k] ? b : 0], o.shape, true)))),
  );
  for (let r = 0; r < outs.length; r++) {
    const got = await batchFirst(outs[r], outAxis);
    const exShape = [...perExample[0][r].shape];
    const want = stackAlong(await Promise.all(perExample.map((p) => p[r].data())), exShape, 0);
    assert.deepEqual(got.shape, [batch, ...exShape], `${c.name}: result ${r} shape`);
    assertAllClose([...got.data].map(Number), [...want].map(Number), tolerance);
  }
}

/** vmap of vmap: two batch axes (outer at inAxes 1 when the operands allow, inner at 0). */
async function checkNested(c: Case, seed: number): Promise<void> {
  const [outer, inner] = [2, 3];
  const hosts = c.operands.map((o, k) =>
    Array.from({ length: outer * inner }, (_, b) => draw(o.kind, size(o.shape), seed * 1000 + k * 50 + b)),
  );
  const outerAxis = c.operands.every((o) => o.shape.length >= 1) ? 1 : 0;
  const args = c.operands.map((o, k) => {
    // Inner examples stacked at axis 0 → shape [inner, ...]; then outer stacked at `outerAxis`.
    const rows = Array.from({ length: outer }, (_, i) =>
      stackAlong(hosts[k].slice(i * inner, (i + 1) * inner), o.shape, 0),
    );
    const innerShape = [inner, ...o.shape];
    const shape = [...innerShape];
    shape.splice(outerAxis, 0, outer);
    return toDevice(stackAlong(rows, innerShape, outerAxis), shape);
  });
  const nested = vmap(
    vmap((...xs: Tracer[]) => c.fn(...xs)),
    outerAxis,
  );
  const outs = results(nested(...args));
  for (let r = 0; r < outs.length; r++) {
    const data = await outs[r].data();
    for (let i = 0; i < outer; i++)
      for (let j = 0; j < inner; j++) {
        const ex = results(
          c.fn(...c.operands.map((o, k) => toDevice(hosts[k][i * inner + j], o.shape, true))),
        )[r];
        const exSize = ex.size;
        const got = data.slice((i * inner + j) * exSize, (i * inner + j + 1) * exSize);
        assertAllClose([...got].map(Number), [...(await ex.data())].map(Number), tolerance);
      }
  }
}

const cases = buildCases();

it("has a batching-rule case for every primitive in the registry", () => {
  const covered = new Set<Primitive>();
  for (const c of cases) for (const p of primitivesOf(c)) covered.add(p);
  const missing = Object.values(Primitive).filter((p) => !covered.has(p) && !(p in CHECKED_ELSEWHERE));
  assert.deepEqual(
    missing,
    [],
    `primitives without a case in tests/vmap-rules.test.ts: ${missing.join(", ")}`,
  );
});

describeEachDevice("vmap rule checker", (device) => {
  it("axis_index gives each example its index along the named axis, at any depth", async () => {
    const f = (x: Tracer) => jnp.add(x, jnp.astype(lax.axisIndex("i"), "float32"));
    const xs = jnp.zeros([5, 2]);
    assertAllClose(
      await vmap(f, { axisName: "i" })(xs).tolist(),
      [0, 1, 2, 3, 4].map((i) => [i, i]),
    );
    const nested = vmap(vmap(f, { axisName: "j" }), { axisName: "i" });
    assertAllClose(
      await nested(xs).tolist(),
      [0, 1, 2, 3, 4].map((i) => [i, i]),
    );
  });

  for (const c of cases) {
    it(`${c.name}: vmap equals the per-example loop`, async () => {
      const configs = configsFor(c);
      // WebGPU compiles a pipeline per shape (slow on lavapipe): it runs a subset of the configs.
      const chosen = device === "webgpu" ? configs.filter((_, i) => i % 2 === 0) : configs;
      for (const [i, cfg] of chosen.entries()) {
        try {
          await checkConfig(c, cfg, i + 1);
        } catch (e) {
          (e as Error).message = `${JSON.stringify(cfg)}: ${(e as Error).message}`;
          throw e;
        }
      }
      if (c.operands.length > 0) await checkNested(c, 7);
    });
  }
});
