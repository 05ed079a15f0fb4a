/** Abstract values: what a tracer knows about the array it stands for (JAX's ShapedArray). */
import { DTYPE_SHORT_NAME, type DType } from "../dtype.js";
import { sizeOf, type Shape } from "../shape.js";

export class ShapedArray {
  constructor(
    readonly shape: Shape,
    readonly dtype: DType,
    /** Weakly typed: came from a JS number and defers to the other operand's dtype. */
    readonly weakType = false,
  ) {}

  get ndim(): number {
    return this.shape.length;
  }

  get size(): number {
    return sizeOf(this.shape);
  }

  /** `f32[3,4]`, as JAX prints types in jaxprs. */
  strShort(): string {
    return `${DTYPE_SHORT_NAME[this.dtype]}[${this.shape.join(",")}]`;
  }

  toString(): string {
    return `ShapedArray(${this.dtype}[${this.shape.join(",")}]${this.weakType ? ", weak_type=True" : ""})`;
  }

  equals(other: ShapedArray): boolean {
    return (
      this.dtype === other.dtype &&
      this.shape.length === other.shape.length &&
      this.shape.every((d, i) => d === other.shape[i])
    );
  }

  withWeakType(weakType: boolean): ShapedArray {
    return new ShapedArray(this.shape, this.dtype, weakType);
  }
}
