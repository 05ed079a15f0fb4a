/** Element types, their storage and numpy/JAX-style promotion. */
export type DType = "float32" | "int32" | "uint32" | "bool" | "float16";

export const DTYPES: readonly DType[] = ["float32", "int32", "uint32", "bool", "float16"];

/** JAX's short names, used when printing jaxprs (`f32[3]`). */
export const DTYPE_SHORT_NAME: Record<DType, string> = {
  float32: "f32",
  int32: "i32",
  uint32: "u32",
  bool: "bool",
  float16: "f16",
};

export type TypedArray = Float32Array | Int32Array | Uint32Array | Uint8Array | Uint16Array;

/** Host storage of each dtype (bool as one byte, float16 as raw 16-bit words). */
export function hostArray(dtype: DType, size: number): TypedArray {
  switch (dtype) {
    case "float32":
      return new Float32Array(size);
    case "int32":
      return new Int32Array(size);
    case "uint32":
      return new Uint32Array(size);
    case "bool":
      return new Uint8Array(size);
    case "float16":
      return new Uint16Array(size);
  }
}

export function isDType(x: unknown): x is DType {
  return typeof x === "string" && (DTYPES as readonly string[]).includes(x);
}

export function isFloating(d: DType): boolean {
  return d === "float32" || d === "float16";
}

export function isInteger(d: DType): boolean {
  return d === "int32" || d === "uint32";
}

// Promotion lattice restricted to our dtypes (JAX's table): bool < uint32/int32 < float16 < float32,
// and int32 with uint32 promotes to int32 (JAX would go to int64, which we do not have).
const RANK: Record<DType, number> = { bool: 0, uint32: 1, int32: 2, float16: 3, float32: 4 };

/**
 * Result dtype of a binary operation. A weak-typed operand (a JS number) adopts the other operand's
 * dtype unless it needs a higher category (a float scalar with an int array gives float32), as in JAX.
 */
export function promoteTypes(a: DType, b: DType, weakA = false, weakB = false): DType {
  if (a === b) return a;
  if (weakA && !weakB) return weakCombine(a, b);
  if (weakB && !weakA) return weakCombine(b, a);
  return RANK[a] >= RANK[b] ? a : b;
}

function weakCombine(weak: DType, strong: DType): DType {
  const category = (d: DType) => (isFloating(d) ? 2 : isInteger(d) ? 1 : 0);
  return category(weak) > category(strong) ? weak : strong;
}

/** The dtype JAX gives a JS value: booleans are bool, numbers float32 (weakly typed). */
export function dtypeOfScalar(x: number | boolean): DType {
  return typeof x === "boolean" ? "bool" : "float32";
}
