/**
 * Matmul reading its operands from storage textures, for CPU adapters (lavapipe). lavapipe loads a
 * storage buffer element by element, with a branch per lane for the execution mask and another for
 * the bounds; a storage texture read is vectorised. So each operand is first copied into an
 * rgba32float texture (four consecutive k of A, or four consecutive n of B, per texel; zero padding
 * to whole tiles, so the main loop needs no bounds tests), then each invocation computes an R x 4·C4
 * register tile. 1024³ f32 on lavapipe: about 3x faster than the 4 x 4 kernel on storage buffers.
 */
import type { JaxprEqn, Var } from "../../../core/jaxpr.js";
import type { FusionPlan } from "../../../compiler/fusion.js";
import { KernelContext, affineIndex } from "./emit.js";
import {
  checkBindings,
  dotGeometry,
  epilogue,
  gridStride,
  type DeviceLimits,
  type DispatchSpec,
} from "./kernels.js";

/** An rgba32float texture private to one step, kept by the executable from run to run. */
export class TextureScratch {
  constructor(
    readonly width: number,
    readonly height: number,
  ) {}
}

/**
 * The register tile: R rows x 4·C4 columns per invocation, WGX x WGY invocations per workgroup.
 * 8 x 8 tiles in 8 x 8 workgroups were the fastest of the sizes tried at 1024³ (4 x 4 to 16 x 16).
 */
const R = 8;
const C4 = 2;
const WGX = 8;
const WGY = 8;

const roundUp = (n: number, m: number) => Math.ceil(n / m) * m;

/**
 * The texture matmul's dispatches (two copies into textures, then the matmul with the fused
 * epilogue), or undefined when it does not apply: not float32, fewer multiply-adds than the
 * device's threshold, fewer rows or columns than one workgroup's tile, or textures larger than the
 * device allows, or an empty dimension. A threshold of 0 (tests) takes every other float32 shape.
 */
export function dotKernelsTextures(
  plan: FusionPlan,
  anchor: JaxprEqn,
  root: Var,
  limits: DeviceLimits,
): { dispatches: DispatchSpec[]; textures: TextureScratch[] } | undefined {
  const g = dotGeometry(anchor);
  const [lhs, rhs] = anchor.inputs as Var[];
  const out = anchor.outBinders[0];
  if ([lhs, rhs, out].some((v) => v.aval.dtype !== "float32")) return undefined;
  // An empty operand or result: no texture can hold it (zero-sized); the plain kernels handle it.
  if (g.B === 0 || g.M === 0 || g.N === 0 || g.K === 0) return undefined;
  if (g.B * g.M * g.N * g.K < limits.matmulTextureMinMacs) return undefined;
  // Fewer rows or columns than a workgroup's tile: the padding would cost more than the textures
  // save (1024x1024 times a vector: 6x slower; 8 rows of 1024x1024: 5x slower).
  if (limits.matmulTextureMinMacs > 0 && (g.M < R * WGY || g.N < 4 * C4 * WGX)) return undefined;
  const Kq = Math.ceil(g.K / 4);
  const Mp = roundUp(g.M, R * WGY);
  const Nq = roundUp(Math.ceil(g.N / 4), C4 * WGX);
  const texA = new TextureScratch(Kq, g.B * Mp);
  const texB = new TextureScratch(Nq, g.B * Kq * 4);
  const max = limits.maxTextureDimension2D;
  if ([texA, texB].some((t) => t.width > max || t.height > max)) return undefined;

  const aff = (p: { shape: number[]; strides: number[] }, idx: string) =>
    affineIndex(p.shape, p.strides, 0, idx);
  /** Copies one operand into its texture: texel (x, y) holds four consecutive elements, 0 outside. */
  const copy = (
    src: Var,
    tex: TextureScratch,
    what: string,
    lets: string,
    inRange: (j: number) => string,
    offset: (j: number) => string,
  ): DispatchSpec => {
    const loop = gridStride(tex.width * tex.height, limits);
    const lanes = [0, 1, 2, 3].map((j) => `if (${inRange(j)}) { v[${j}] = src[${offset(j)}]; }`);
    const code = `@group(0) @binding(0) var<storage, read> src: array<f32>;
@group(0) @binding(1) var dst: texture_storage_2d<rgba32float, write>;
${loop.head}
    let x = i % ${tex.width}u; let y = i / ${tex.width}u;
    ${lets}
    var v = vec4<f32>();
    ${lanes.join("\n    ")}
    textureStore(dst, vec2<u32>(x, y), v);
${loop.tail}
`;
    return {
      code,
      label: `copy of ${src.aval.strShort()} into a texture (${what} of a dot_general)`,
      bindings: [src, tex],
      groups: loop.groups,
    };
  };
  const copyA = copy(
    lhs,
    texA,
    "A",
    `let b = y / ${Mp}u; let m = y % ${Mp}u;`,
    (j) => `m < ${g.M}u && x * 4u + ${j}u < ${g.K}u`,
    (j) => `${aff(g.aB, "b")} + ${aff(g.aM, "m")} + ${aff(g.aK, `(x * 4u + ${j}u)`)}`,
  );
  const copyB = copy(
    rhs,
    texB,
    "B",
    `let b = y / ${Kq * 4}u; let k = y % ${Kq * 4}u;`,
    (j) => `k < ${g.K}u && x * 4u + ${j}u < ${g.N}u`,
    (j) => `${aff(g.bB, "b")} + ${aff(g.bK, "k")} + ${aff(g.bN, `(x * 4u + ${j}u)`)}`,
  );

  // The matmul: bindings are the epilogue's leaves, the output, then the two textures.
  const ctx = new KernelContext((v) => plan.materialised.has(v), plan.producer);
  const epi = epilogue(ctx, out, root);
  const rows = [...Array(R).keys()];
  const cols = [...Array(C4).keys()];
  const acc = (r: number, c: number) => `c${r}_${c}`;
  const stores = rows.flatMap((r) =>
    cols.flatMap((c) =>
      [0, 1, 2, 3].map(
        (j) =>
          `if (m0 + ${r}u < ${g.M}u && (nb + ${c}u) * 4u + ${j}u < ${g.N}u) { let o = ob + (m0 + ${r}u) * ${g.N}u + (nb + ${c}u) * 4u + ${j}u; out[o] = ${epi}(o, ${acc(r, c)}[${j}]); }`,
      ),
    ),
  );
  const main = `@compute @workgroup_size(${WGX}, ${WGY})
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let b = gid.z;
  let m0 = gid.y * ${R}u;
  let nb = gid.x * ${C4}u;
  let ya = b * ${Mp}u + m0;
  let yb = b * ${Kq * 4}u;
  ${rows.map((r) => cols.map((c) => `var ${acc(r, c)} = vec4<f32>();`).join(" ")).join("\n  ")}
  for (var k = 0u; k < ${Kq}u; k = k + 1u) {
    ${rows.map((r) => `let a${r} = textureLoad(texA, vec2<u32>(k, ya + ${r}u));`).join("\n    ")}
    ${[0, 1, 2, 3].map((q) => cols.map((c) => `let b${q}_${c} = textureLoad(texB, vec2<u32>(nb + ${c}u, yb + k * 4u + ${q}u));`).join(" ")).join("\n    ")}
    ${rows.map((r) => cols.map((c) => [0, 1, 2, 3].map((q) => `${acc(r, c)} = ${acc(r, c)} + a${r}[${q}] * b${q}_${c};`).join(" ")).join(" ")).join("\n    ")}
  }
  let ob = b * ${g.M * g.N}u;
  ${stores.join("\n  ")}
}`;
  checkBindings(ctx, 1, root, limits);
  const n = ctx.leaves.length;
  const code = `${ctx.prelude(main)}
${ctx.bindings([{ name: "out", dtype: "f32" }])}
@group(0) @binding(${n + 1}) var texA: texture_storage_2d<rgba32float, read>;
@group(0) @binding(${n + 2}) var texB: texture_storage_2d<rgba32float, read>;
${main}
`;
  const matmul: DispatchSpec = {
    code,
    label: `dot_general ${lhs.aval.strShort()} x ${rhs.aval.strShort()} (register-blocked ${R}x${4 * C4} from textures) with fused epilogue`,
    bindings: [...ctx.leaves, root, texA, texB],
    groups: [Nq / (C4 * WGX), Mp / (R * WGY), g.B],
  };
  return { dispatches: [copyA, copyB, matmul], textures: [texA, texB] };
}
