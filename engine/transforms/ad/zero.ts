/** Symbolic zero tangents and cotangents (JAX's `ad_util.Zero`): an aval and no data. */
import { ShapedArray } from "../../core/aval.js";
import type { Tracer } from "../../core/trace.js";

export class Zero {
  constructor(readonly aval: ShapedArray) {}

  static of(aval: ShapedArray): Zero {
    return new Zero(new ShapedArray(aval.shape, aval.dtype));
  }

  toString(): string {
    return `Zero(${this.aval.strShort()})`;
  }
}

/** A tangent or cotangent: an array, or a symbolic zero. */
export type Tangent = Tracer | Zero;

export function isZero(t: Tangent | null | undefined): t is Zero {
  return t instanceof Zero;
}
