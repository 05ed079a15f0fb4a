/** Shape arithmetic shared by the API, the rules and the executors. */
export type Shape = readonly number[];

export function sizeOf(shape: Shape): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

/** Row-major strides, in elements. */
export function stridesOf(shape: Shape): number[] {
  const strides = new Array<number>(shape.length);
  let s = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    strides[i] = s;
    s *= shape[i];
  }
  return strides;
}

export function shapeEqual(a: Shape, b: Shape): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

export function formatShape(shape: Shape): string {
  return `(${shape.join(", ")}${shape.length === 1 ? "," : ""})`;
}

/** numpy broadcasting of two or more shapes; `what` names the operation for the error. */
export function broadcastShapes(what: string, ...shapes: Shape[]): number[] {
  const rank = Math.max(0, ...shapes.map((s) => s.length));
  const out = new Array<number>(rank).fill(1);
  for (const s of shapes) {
    for (let i = 0; i < s.length; i++) {
      const j = rank - s.length + i;
      const d = s[i];
      if (out[j] === 1) out[j] = d;
      else if (d !== 1 && d !== out[j]) {
        throw new TypeError(
          `${what}: shapes ${shapes.map(formatShape).join(", ")} cannot be broadcast together ` +
            `(dimension ${d} vs ${out[j]})`,
        );
      }
    }
  }
  return out;
}

/** Normalises a possibly negative axis; the error names the operation, the axis and the rank. */
export function normalizeAxis(what: string, axis: number, rank: number): number {
  if (!Number.isInteger(axis) || axis < -rank || axis >= rank) {
    throw new RangeError(`${what}: axis ${axis} is out of bounds for an array of rank ${rank}`);
  }
  return axis < 0 ? axis + rank : axis;
}
