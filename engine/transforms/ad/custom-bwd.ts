/** The user's backward function of a custom_vjp, as the `bwd` param of a custom_lin equation. */
import type { Tracer } from "../../core/trace.js";

export class CustomBwd {
  constructor(
    readonly name: string,
    /** Cotangents of the inputs (null: zero) from the residuals and the outputs' cotangents. */
    readonly run: (residuals: Tracer[], cts: Tracer[]) => (Tracer | null)[],
  ) {}

  toString(): string {
    return this.name;
  }
}
