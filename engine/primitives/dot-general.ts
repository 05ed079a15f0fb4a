/**
 * dot_general: contraction over paired dimensions with batch dimensions, as lax.dot_general and XLA's
 * DotGeneral. Result dims are ordered batch, lhs free, rhs free. `preferred_element_type` is the
 * result dtype (the operands' dtype here: mixed-precision accumulation is not offered).
 */
import { ShapedArray } from "../core/aval.js";
import { Primitive, type ParamsOf } from "../core/primitive.js";
import { ppParamsRules } from "../core/jaxpr.js";
import { hostArray } from "../dtype.js";
import { formatShape, stridesOf } from "../shape.js";
import { wgslStorageType } from "../backend/webgpu/wgsl.js";
import { describe } from "./checks.js";
import type { PrimitiveRules } from "./rules.js";

type DotParams = ParamsOf<Primitive.DotGeneral>;

/** Per output dim and per contracted dim: the element strides into lhs and rhs, and the sizes. */
interface DotLayout {
  outShape: number[];
  outStrides: [number, number][];
  contractShape: number[];
  contractStrides: [number, number][];
}

function layout(lhs: readonly number[], rhs: readonly number[], params: DotParams): DotLayout {
  const [[lc, rc], [lb, rb]] = params.dimension_numbers;
  const sl = stridesOf(lhs);
  const sr = stridesOf(rhs);
  const lFree = lhs.map((_, d) => d).filter((d) => !lc.includes(d) && !lb.includes(d));
  const rFree = rhs.map((_, d) => d).filter((d) => !rc.includes(d) && !rb.includes(d));
  return {
    outShape: [...lb.map((d) => lhs[d]), ...lFree.map((d) => lhs[d]), ...rFree.map((d) => rhs[d])],
    outStrides: [
      ...lb.map((d, j): [number, number] => [sl[d], sr[rb[j]]]),
      ...lFree.map((d): [number, number] => [sl[d], 0]),
      ...rFree.map((d): [number, number] => [0, sr[d]]),
    ],
    contractShape: lc.map((d) => lhs[d]),
    contractStrides: lc.map((d, j): [number, number] => [sl[d], sr[rc[j]]]),
  };
}

function checkDims(what: string, a: ShapedArray, dims: readonly number[]): void {
  for (const d of dims) {
    if (!Number.isInteger(d) || d < 0 || d >= a.ndim)
      throw new RangeError(`dot_general: ${what} dimension ${d} is out of bounds for operand ${describe(a)}`);
  }
  if (new Set(dims).size !== dims.length)
    throw new RangeError(`dot_general: repeated ${what} dimensions ${formatShape(dims)}`);
}

/** Flat offsets into lhs and rhs of every contracted position (row-major over the contracted dims). */
function contractOffsets(
  shape: readonly number[],
  strides: readonly [number, number][],
): [Int32Array, Int32Array] {
  const k = shape.reduce((a, b) => a * b, 1);
  const offL = new Int32Array(k);
  const offR = new Int32Array(k);
  const cs = stridesOf(shape);
  for (let r = 0; r < k; r++) {
    let l = 0;
    let q = 0;
    for (let j = 0; j < shape.length; j++) {
      const c = Math.floor(r / cs[j]) % shape[j];
      l += c * strides[j][0];
      q += c * strides[j][1];
    }
    offL[r] = l;
    offR[r] = q;
  }
  return [offL, offR];
}

export const dotGeneralRules: PrimitiveRules<Primitive.DotGeneral> = {
  abstractEval: ([lhs, rhs], params) => {
    const [[lc, rc], [lb, rb]] = params.dimension_numbers;
    const both = `for operands ${describe(lhs)} and ${describe(rhs)}`;
    checkDims("lhs contracting", lhs, lc);
    checkDims("rhs contracting", rhs, rc);
    checkDims("lhs batch", lhs, lb);
    checkDims("rhs batch", rhs, rb);
    if (lc.some((d) => lb.includes(d)) || rc.some((d) => rb.includes(d)))
      throw new TypeError(`dot_general: a dimension is both batch and contracting ${both}`);
    if (lc.length !== rc.length)
      throw new TypeError(
        `dot_general requires equal numbers of lhs and rhs contracting dimensions, got ${formatShape(lc)} and ${formatShape(rc)} ${both}`,
      );
    if (lb.length !== rb.length)
      throw new TypeError(
        `dot_general requires equal numbers of lhs and rhs batch dimensions, got ${formatShape(lb)} and ${formatShape(rb)} ${both}`,
      );
    const lcs = lc.map((d) => lhs.shape[d]);
    const rcs = rc.map((d) => rhs.shape[d]);
    if (lcs.some((s, j) => s !== rcs[j]))
      throw new TypeError(
        `dot_general requires contracting dimensions to have the same shape, got ${formatShape(lcs)} and ${formatShape(rcs)} ${both}`,
      );
    const lbs = lb.map((d) => lhs.shape[d]);
    const rbs = rb.map((d) => rhs.shape[d]);
    if (lbs.some((s, j) => s !== rbs[j]))
      throw new TypeError(
        `dot_general requires lhs batch dimensions and rhs batch dimensions to have the same shape, got ${formatShape(lbs)} and ${formatShape(rbs)} ${both}`,
      );
    if (lhs.dtype !== rhs.dtype)
      throw new TypeError(
        `dot_general requires operands of one dtype, got ${describe(lhs)} and ${describe(rhs)}`,
      );
    const dtype = params.preferred_element_type ?? lhs.dtype;
    if (dtype !== lhs.dtype)
      throw new TypeError(
        `dot_general: preferred_element_type ${dtype} differs from the operand dtype ${lhs.dtype} (not supported)`,
      );
    return [new ShapedArray(layout(lhs.shape, rhs.shape, params).outShape, dtype)];
  },
  cpu: ([x, y], [lhs, rhs], [out], params) => {
    const lay = layout(lhs.shape, rhs.shape, params);
    const [offL, offR] = contractOffsets(lay.contractShape, lay.contractStrides);
    const os = stridesOf(lay.outShape);
    const z = hostArray(out.dtype, out.size);
    const isBool = out.dtype === "bool";
    for (let i = 0; i < z.length; i++) {
      let bl = 0;
      let br = 0;
      for (let d = 0; d < os.length; d++) {
        const c = Math.floor(i / os[d]) % lay.outShape[d];
        bl += c * lay.outStrides[d][0];
        br += c * lay.outStrides[d][1];
      }
      let acc = 0;
      // bool: logical or of ands (XLA's PRED dot); numbers: accumulate in doubles, round once.
      if (isBool) {
        for (let r = 0; r < offL.length && !acc; r++) if (x[bl + offL[r]] && y[br + offR[r]]) acc = 1;
      } else for (let r = 0; r < offL.length; r++) acc += x[bl + offL[r]] * y[br + offR[r]];
      z[i] = acc;
    }
    return [z];
  },
  // One invocation per output element looping over the contracted elements (no tiling yet).
  wgsl: ([lhs, rhs], [out], params) => {
    const lay = layout(lhs.shape, rhs.shape, params);
    const t = wgslStorageType(out.dtype);
    const os = stridesOf(lay.outShape);
    const lines = ["var rem = i;", "var bl = 0u;", "var br = 0u;"];
    lay.outShape.forEach((_, d) =>
      lines.push(
        `{ let c = rem / ${os[d]}u; rem = rem % ${os[d]}u; bl = bl + c * ${lay.outStrides[d][0]}u; br = br + c * ${lay.outStrides[d][1]}u; }`,
      ),
    );
    const k = lay.contractShape.reduce((a, b) => a * b, 1);
    const cs = stridesOf(lay.contractShape);
    const off = (side: 0 | 1) =>
      lay.contractShape
        .map((s, j) => `((r / ${cs[j]}u) % ${s}u) * ${lay.contractStrides[j][side]}u`)
        .join(" + ") || "0u";
    // An empty contraction is zero (and `% 0u` would not compile); the inputs must still be used, or
    // the automatic bind group layout drops their bindings (buffers hold at least one word).
    if (k === 0) return { body: `_ = in0[0];\n  _ = in1[0];\n  out[i] = ${t}(0);` };
    const step = out.dtype === "bool" ? "acc = acc | (a & b);" : "acc = acc + a * b;";
    return {
      body: `${lines.join("\n  ")}
  var acc: ${t} = ${t}(0);
  for (var r = 0u; r < ${k}u; r = r + 1u) {
    let a = in0[bl + ${off(0)}];
    let b = in1[br + ${off(1)}];
    ${step}
  }
  out[i] = acc;`,
    };
  },
};

// JAX's _dot_general_pp_rule: None params are not printed and dimension_numbers print as lists.
ppParamsRules.set(Primitive.DotGeneral, (params) => {
  const p = params as DotParams;
  const list = (xs: readonly number[]) => `[${xs.join(", ")}]`;
  const [[lc, rc], [lb, rb]] = p.dimension_numbers;
  const shown: Record<string, unknown> = {
    dimension_numbers: `((${list(lc)}, ${list(rc)}), (${list(lb)}, ${list(rb)}))`,
  };
  for (const [key, v] of Object.entries(p)) if (key !== "dimension_numbers" && v !== null) shown[key] = v;
  return shown;
});
