/** dtype conversion (`convert_element_type`), the one primitive the array constructors need. */
import { Primitive } from "../core/primitive.js";
import { bind1, type Tracer } from "../core/trace.js";
import type { DType } from "../dtype.js";

export function convert(x: Tracer, dtype: DType, weakType = false): Tracer {
  if (x.dtype === dtype && x.weakType === weakType) return x;
  return bind1(Primitive.ConvertElementType, [x], { new_dtype: dtype, weak_type: weakType });
}
