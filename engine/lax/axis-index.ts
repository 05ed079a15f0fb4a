/** `lax.axisIndex(name)`: this example's index along the named vmapped axis, as `jax.lax.axis_index`. */
import type { BatchMainData } from "../core/batch-trace.js";
import { Primitive } from "../core/primitive.js";
import { findMain, type Tracer } from "../core/trace.js";

export function axisIndex(axisName: string): Tracer {
  const main = findMain((m) => (m.globalData as BatchMainData | null)?.axisName === axisName);
  if (!main) {
    throw new Error(
      `unbound axis name: ${axisName}. axis_index needs an enclosing vmap or pmap(..., {axisName: ${JSON.stringify(axisName)}})`,
    );
  }
  // No operands to find the vmap's trace by: ask that trace directly (as JAX binds at its level).
  const trace = new main.traceType(main);
  return trace.processPrimitive(Primitive.AxisIndex, [], { axis_name: axisName })[0];
}
