/**
 * Threefry-2x32 (Random123, 20 rounds) and the key primitives built on it, with JAX's semantics
 * under its default `jax_threefry_partitionable=True` (jax/_src/prng.py):
 *
 * - threefry2x32(k0, k1, x0, x1) -> (y0, y1): the block cipher, elementwise over the counters.
 * - random_bits[bit_width=32, shape](key): bits1 ^ bits2 of threefry(key, (hi, lo)) where (hi, lo)
 *   is the 64-bit row-major index of each element (`_threefry_random_bits_partitionable`).
 * - random_split[shape](key): key i is threefry(key, (0, i)) (`_threefry_split_foldlike`).
 * - random_fold_in(key, data): threefry(key, (0, data)) (`threefry_fold_in`).
 *
 * Keys are raw uint32 key data of shape (..., 2), as JAX's legacy `PRNGKey` arrays; leading axes are
 * a batch of keys. All arithmetic is on uint32 words, which WGSL wraps and JS emulates with `>>> 0`,
 * so both executors give the same bits.
 */
import { ShapedArray } from "../core/aval.js";
import { Primitive } from "../core/primitive.js";
import { formatShape, sizeOf } from "../shape.js";
import { at } from "../backend/webgpu/wgsl.js";
import { checkArity, describe } from "./checks.js";
import type { RuleGroup } from "./rules.js";

const ROTATIONS = [
  [13, 15, 26, 6],
  [17, 29, 16, 24],
];
/** Skein's key-schedule parity constant. */
const PARITY = 0x1bd11bda;

/** Threefry-2x32-20 on one block: JS doubles hold uint32 words; `>>> 0` wraps them. */
export function threefry2x32Host(k0: number, k1: number, x0: number, x1: number): [number, number] {
  const ks = [k0 >>> 0, k1 >>> 0, (k0 ^ k1 ^ PARITY) >>> 0];
  let a = (x0 + ks[0]) >>> 0;
  let b = (x1 + ks[1]) >>> 0;
  for (let s = 0; s < 5; s++) {
    for (const r of ROTATIONS[s % 2]) {
      a = (a + b) >>> 0;
      b = ((b << r) | (b >>> (32 - r))) >>> 0;
      b = (b ^ a) >>> 0;
    }
    // Key injection after every four rounds: words rotate through the schedule, plus the count.
    a = (a + ks[(s + 1) % 3]) >>> 0;
    b = (b + ks[(s + 2) % 3] + s + 1) >>> 0;
  }
  return [a, b];
}

/**
 * WGSL statements (in their own block) that set the u32 variables `out0`, `out1` (declared by the
 * caller) to threefry(k0, k1, x0, x1) for the u32 expressions given.
 */
function threefryWgsl(k0: string, k1: string, x0: string, x1: string, out0: string, out1: string): string {
  const lines = [
    `let tk0 = ${k0};`,
    `let tk1 = ${k1};`,
    `let tk2 = tk0 ^ tk1 ^ ${PARITY}u;`,
    `var ta = ${x0} + tk0;`,
    `var tb = ${x1} + tk1;`,
  ];
  for (let s = 0; s < 5; s++) {
    for (const r of ROTATIONS[s % 2]) {
      lines.push(`ta = ta + tb; tb = (tb << ${r}u) | (tb >> ${32 - r}u); tb = tb ^ ta;`);
    }
    lines.push(`ta = ta + tk${(s + 1) % 3}; tb = tb + tk${(s + 2) % 3} + ${s + 1}u;`);
  }
  lines.push(`${out0} = ta;`, `${out1} = tb;`);
  return `{\n    ${lines.join("\n    ")}\n  }`;
}

function checkKeys(prim: Primitive, keys: ShapedArray): void {
  if (keys.dtype !== "uint32" || keys.ndim < 1 || keys.shape[keys.ndim - 1] !== 2) {
    throw new TypeError(`${prim}: keys must be uint32 key data of shape (..., 2), got ${describe(keys)}`);
  }
}

function checkShapeParam(prim: Primitive, shape: readonly number[]): void {
  if (shape.some((d) => !Number.isInteger(d) || d < 0))
    throw new TypeError(`${prim}: invalid shape ${formatShape(shape)}`);
}

type ThreefryPrimitive =
  Primitive.Threefry2x32 | Primitive.RandomBits | Primitive.RandomSplit | Primitive.RandomFoldIn;

export const threefryPrimitiveRules: RuleGroup<ThreefryPrimitive> = {
  [Primitive.Threefry2x32]: {
    abstractEval: (avals) => {
      checkArity(Primitive.Threefry2x32, avals, 4);
      if (avals.some((a) => a.dtype !== "uint32")) {
        throw new TypeError(
          `threefry2x32: operands must have uint32 type, got ${avals.map(describe).join(", ")}`,
        );
      }
      // lax's broadcasting rule: equal shapes, where rank-0 operands stand for any shape.
      const shaped = avals.filter((a) => a.ndim > 0);
      const shape = shaped[0]?.shape ?? [];
      if (shaped.some((a) => a.shape.length !== shape.length || a.shape.some((d, k) => d !== shape[k]))) {
        throw new TypeError(`threefry2x32: incompatible shapes ${avals.map(describe).join(", ")}`);
      }
      const out = new ShapedArray(shape, "uint32");
      return [out, out];
    },
    cpu: (inputs, _in, [out]) => {
      const y0 = new Uint32Array(out.size);
      const y1 = new Uint32Array(out.size);
      const s = inputs.map((x) => (x.length === 1 ? 0 : 1));
      const [k0, k1, x0, x1] = inputs;
      for (let i = 0; i < out.size; i++) {
        const [a, b] = threefry2x32Host(k0[i * s[0]], k1[i * s[1]], x0[i * s[2]], x1[i * s[3]]);
        y0[i] = a;
        y1[i] = b;
      }
      return [y0, y1];
    },
    wgsl: (avals) => ({
      body: `var r0 = 0u;
  var r1 = 0u;
  ${threefryWgsl(at(0, avals[0]), at(1, avals[1]), at(2, avals[2]), at(3, avals[3]), "r0", "r1")}
  out0[i] = r0;
  out1[i] = r1;`,
    }),
  },

  [Primitive.RandomBits]: {
    abstractEval: (avals, { bit_width, shape }) => {
      checkArity(Primitive.RandomBits, avals, 1);
      const [keys] = avals;
      checkKeys(Primitive.RandomBits, keys);
      checkShapeParam(Primitive.RandomBits, shape);
      if (bit_width !== 32) throw new TypeError(`random_bits: bit_width ${bit_width} is not supported (32)`);
      return [new ShapedArray([...keys.shape.slice(0, -1), ...shape], "uint32")];
    },
    cpu: ([keys], _in, [out], { shape }) => {
      const n = sizeOf(shape);
      const y = new Uint32Array(out.size);
      for (let i = 0; i < out.size; i++) {
        const key = Math.floor(i / n);
        const [a, b] = threefry2x32Host(keys[2 * key], keys[2 * key + 1], 0, i % n);
        y[i] = (a ^ b) >>> 0;
      }
      return [y];
    },
    wgsl: (_in, _out, { shape }) => {
      const n = sizeOf(shape);
      return {
        body: `let kidx = i / ${n}u;
  var r0 = 0u;
  var r1 = 0u;
  ${threefryWgsl("in0[2u * kidx]", "in0[2u * kidx + 1u]", "0u", `i % ${n}u`, "r0", "r1")}
  out[i] = r0 ^ r1;`,
      };
    },
  },

  [Primitive.RandomSplit]: {
    abstractEval: (avals, { shape }) => {
      checkArity(Primitive.RandomSplit, avals, 1);
      const [keys] = avals;
      checkKeys(Primitive.RandomSplit, keys);
      checkShapeParam(Primitive.RandomSplit, shape);
      return [new ShapedArray([...keys.shape.slice(0, -1), ...shape, 2], "uint32")];
    },
    cpu: ([keys], _in, [out], { shape }) => {
      const n = sizeOf(shape);
      const y = new Uint32Array(out.size);
      for (let p = 0; p < out.size / 2; p++) {
        const key = Math.floor(p / n);
        const [a, b] = threefry2x32Host(keys[2 * key], keys[2 * key + 1], 0, p % n);
        y[2 * p] = a;
        y[2 * p + 1] = b;
      }
      return [y];
    },
    // One invocation per output word (each pair's block is computed twice, keeping threads simple).
    wgsl: (_in, _out, { shape }) => {
      const n = sizeOf(shape);
      return {
        body: `let pidx = i / 2u;
  let kidx = pidx / ${n}u;
  var r0 = 0u;
  var r1 = 0u;
  ${threefryWgsl("in0[2u * kidx]", "in0[2u * kidx + 1u]", "0u", `pidx % ${n}u`, "r0", "r1")}
  out[i] = select(r1, r0, i % 2u == 0u);`,
      };
    },
  },

  [Primitive.RandomFoldIn]: {
    abstractEval: (avals) => {
      checkArity(Primitive.RandomFoldIn, avals, 2);
      const [keys, msgs] = avals;
      checkKeys(Primitive.RandomFoldIn, keys);
      const batch = keys.shape.slice(0, -1);
      if (msgs.dtype !== "uint32" || (msgs.ndim !== 0 && formatShape(msgs.shape) !== formatShape(batch))) {
        throw new TypeError(
          `random_fold_in: data must be uint32 of shape () or ${formatShape(batch)}, got ${describe(msgs)}`,
        );
      }
      return [new ShapedArray(keys.shape, "uint32")];
    },
    cpu: ([keys, msgs], _in, [out]) => {
      const y = new Uint32Array(out.size);
      const sm = msgs.length === 1 ? 0 : 1;
      for (let p = 0; p < out.size / 2; p++) {
        const [a, b] = threefry2x32Host(keys[2 * p], keys[2 * p + 1], 0, msgs[p * sm]);
        y[2 * p] = a;
        y[2 * p + 1] = b;
      }
      return [y];
    },
    wgsl: ([, msgs]) => ({
      body: `let pidx = i / 2u;
  var r0 = 0u;
  var r1 = 0u;
  ${threefryWgsl("in0[2u * pidx]", "in0[2u * pidx + 1u]", "0u", at(1, msgs, "pidx"), "r0", "r1")}
  out[i] = select(r1, r0, i % 2u == 0u);`,
    }),
  },
};
