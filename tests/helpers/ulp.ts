/** Float32 ULP distances and the sweep used by the wasm transcendental accuracy table. */
import { WasmDevice } from "../../engine/backend/wasm/wasm-device.js";
import { ShapedArray } from "../../engine/core/aval.js";
import type { Primitive } from "../../engine/core/primitive.js";

const f32 = new Float32Array(1);
const i32 = new Int32Array(f32.buffer);

/** Distance in float32 steps between two float32 values (bit patterns made monotonic). */
export function ulpDistance(a: number, b: number): number {
  if (Number.isNaN(a) || Number.isNaN(b)) return Number.isNaN(a) && Number.isNaN(b) ? 0 : Infinity;
  const key = (x: number) => {
    f32[0] = x;
    const i = i32[0];
    return i < 0 ? -0x80000000 - i : i;
  };
  return Math.abs(key(a) - key(b));
}

/** `count` float32 values evenly spaced in bit pattern (so every binade is covered) from lo to hi. */
export function sweep(lo: number, hi: number, count: number): Float32Array {
  const key = (x: number) => {
    f32[0] = x;
    const i = i32[0];
    return i < 0 ? -0x80000000 - i : i;
  };
  const fromKey = (k: number) => {
    i32[0] = k < 0 ? -0x80000000 - k : k;
    return f32[0];
  };
  const a = key(lo);
  const b = key(hi);
  const out = new Float32Array(count);
  for (let j = 0; j < count; j++) out[j] = fromKey(Math.round(a + ((b - a) * j) / (count - 1)));
  return out;
}

export interface UlpRow {
  fn: string;
  domain: string;
  points: number;
  maxUlp: number;
  worstInput: number;
}

/** Max ULP error of the device's kernel for `prim` against `ref` (in doubles, rounded to float32). */
export function measureUlp(
  device: WasmDevice,
  prim: Primitive,
  ref: (x: number) => number,
  xs: Float32Array,
  domain: string,
): UlpRow {
  const aval = new ShapedArray([xs.length], "float32");
  const x = device.upload(xs);
  const [y] = device.execute(prim, [x], [aval], [aval], {});
  const ys = device.readSync(y, aval);
  device.release(x);
  device.release(y);
  let maxUlp = 0;
  let worstInput = NaN;
  for (let i = 0; i < xs.length; i++) {
    const d = ulpDistance(ys[i], Math.fround(ref(xs[i])));
    if (d > maxUlp) {
      maxUlp = d;
      worstInput = xs[i];
    }
  }
  return { fn: prim, domain, points: xs.length, maxUlp, worstInput };
}
