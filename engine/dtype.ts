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

// JAX's type promotion lattice restricted to our dtypes, with its weak types i* (a JS integer) and
// f* (a JS fraction): bool -> i* -> {uint32, int32}; uint32, int32 -> i64 -> f* -> float16 -> float32.
// The join of two nodes is the least node above both. int32 with uint32 joins at i64, which we do
// not have: like JAX without x64 it becomes int32. bool scalars are not weak (as Python's bools).
type LatticeNode = "bool" | "i*" | "uint32" | "int32" | "i64" | "f*" | "float16" | "float32";
const LATTICE_ORDER: readonly LatticeNode[] = [
  "bool",
  "i*",
  "uint32",
  "int32",
  "i64",
  "f*",
  "float16",
  "float32",
];
const UPPER: Record<LatticeNode, readonly LatticeNode[]> = {
  bool: LATTICE_ORDER,
  "i*": ["i*", "uint32", "int32", "i64", "f*", "float16", "float32"],
  uint32: ["uint32", "i64", "f*", "float16", "float32"],
  int32: ["int32", "i64", "f*", "float16", "float32"],
  i64: ["i64", "f*", "float16", "float32"],
  "f*": ["f*", "float16", "float32"],
  float16: ["float16", "float32"],
  float32: ["float32"],
};

function latticeNode(dtype: DType, weak: boolean): LatticeNode {
  if (weak && dtype === "int32") return "i*";
  if (weak && dtype === "float32") return "f*";
  return dtype;
}

/** A dtype with JAX's weak-type flag. */
export interface WeakDType {
  dtype: DType;
  weak: boolean;
}

/** JAX's `_lattice_result_type` for two operands: the joined dtype and whether it is still weak. */
export function joinTypes(a: WeakDType, b: WeakDType): WeakDType {
  const na = latticeNode(a.dtype, a.weak);
  const upperB = UPPER[latticeNode(b.dtype, b.weak)];
  const join = UPPER[na].find((n) => upperB.includes(n)) ?? "float32";
  if (join === "i*") return { dtype: "int32", weak: true };
  if (join === "f*") return { dtype: "float32", weak: true };
  if (join === "i64") return { dtype: "int32", weak: false };
  return { dtype: join, weak: false };
}

/**
 * Result dtype of a binary operation. A weak-typed operand (a JS number) adopts the other operand's
 * dtype unless it needs a higher category (a float scalar with an int array gives float32), as in JAX.
 */
export function promoteTypes(a: DType, b: DType, weakA = false, weakB = false): DType {
  return joinTypes({ dtype: a, weak: weakA }, { dtype: b, weak: weakB }).dtype;
}

/** The dtype JAX gives a JS value: booleans are bool, numbers float32 (weakly typed). */
export function dtypeOfScalar(x: number | boolean): DType {
  return typeof x === "boolean" ? "bool" : "float32";
}
