/**
 * `jit(f, {staticArgnums, staticArgnames, donateArgnums})`, as JAX's `jax.jit`: traces `f` to a jaxpr
 * once per input signature and calls it through the `pjit` primitive, so the whole function runs as
 * one program on the device (the device's compiled form, or the equation-by-equation interpreter).
 */
import { defaultDevice } from "../backend/devices.js";
import { ConcreteArray } from "../core/concrete-array.js";
import type { ClosedJaxpr } from "../core/jaxpr.js";
import { JaxprBuilder, JaxprTrace } from "../core/jaxpr-trace.js";
import { Primitive } from "../core/primitive.js";
import { Tracer, bind, fullRaise, withNewDynamic } from "../core/trace.js";
import { asArray } from "../numpy/array-like.js";
import { describeValue, flatten, unflatten, type TreeDef } from "../tree.js";
import { Lowered } from "./lower.js";
import { parameterNames } from "./parameter-names.js";

export interface JitOptions {
  /**
   * Positions of arguments that are compile-time constants (negative counts from the end of each
   * call's arguments): `f` sees their JS values, and a new value means a new trace. They must be
   * hashable: numbers, strings, booleans, null, undefined, functions (by identity), and JS arrays or
   * plain objects of those; an array (traced value) there is an error.
   */
  staticArgnums?: number | readonly number[];
  /**
   * Names of static parameters. JS has no keyword arguments: the names are those of `f`'s own
   * parameters, read from its source text (`(x, n) => ...` or `function f(x, n)`), and stand for
   * those positions (as JAX maps `static_argnames` to positions through the signature). Destructured
   * parameters have no name; a name `f` does not have is an error.
   */
  staticArgnames?: string | readonly string[];
  /**
   * Arguments whose arrays the caller gives up (JAX's `donate_argnums`): after a call outside any
   * transform, every array in them is disposed (using one again is an error saying so, as JAX's
   * deleted buffers are), unless the function returned it unchanged. This frees their memory at once
   * for the device's pool; executors do not write results into them in place.
   */
  donateArgnums?: number | readonly number[];
}

/** A jitted function, with its trace cache's counters (JAX's `_cache_size()`). */
export interface Jitted<A extends unknown[], R> {
  (...args: A): R;
  /** Signatures traced and kept (shapes/dtypes/weak types, tree structure, static values, device). */
  cacheSize(): number;
  /** How many times `f` was traced (a cache miss, or a trace closing over an outer transform's values). */
  readonly traceCount: number;
  /** Forgets every trace. */
  clearCache(): void;
  /** The traced function's name, as pjit equations show it. */
  readonly fnName: string;
  /**
   * Traces for these arguments (JAX's `jit(f).lower(*args)`): the jaxpr, and `.compile(device?)` for
   * the device's program (`kernelCount`, `asText()`). Static arguments are given as for a call.
   */
  lower(...args: A): Lowered;
}

interface CacheEntry {
  /** The pjit equation's params: the traced jaxpr and the function's name. */
  params: { jaxpr: ClosedJaxpr; name: string };
  outTree: TreeDef;
}

function indexList(x: number | readonly number[] | undefined, what: string, fn: string): number[] {
  const list = x === undefined ? [] : typeof x === "number" ? [x] : [...x];
  for (const k of list) {
    if (!Number.isInteger(k)) throw new TypeError(`${fn}: ${what} must be integers, got ${String(k)}`);
  }
  return list;
}

/** A function's identity as a static value (Python hashes functions by identity too). */
const functionIds = new WeakMap<object, number>();
let nextFunctionId = 0;

function isPlainObject(x: object): boolean {
  const proto = Object.getPrototypeOf(x);
  return proto === Object.prototype || proto === null;
}

/** A stable text for a static value (object keys sorted), or an error naming the argument. */
function staticKey(x: unknown, where: string): string {
  switch (typeof x) {
    case "number":
      return Object.is(x, -0) ? "n-0" : `n${x}`;
    case "string":
      return `s${JSON.stringify(x)}`;
    case "boolean":
      return x ? "T" : "F";
    case "bigint":
      return `i${x}`;
    case "undefined":
      return "U";
    case "function": {
      let id = functionIds.get(x);
      if (id === undefined) functionIds.set(x, (id = nextFunctionId++));
      return `f${id}`;
    }
  }
  if (x === null) return "N";
  if (x instanceof Tracer) {
    throw new TypeError(
      `${where} is an array (${x.aval.strShort()}), but static arguments must be hashable JS values ` +
        `(numbers, strings, booleans, null, functions, and arrays or plain objects of those): ` +
        `pass arrays as regular (traced) arguments (JAX: non-hashable static arguments are not supported)`,
    );
  }
  if (Array.isArray(x)) return `[${x.map((v, i) => staticKey(v, `${where}[${i}]`)).join(",")}]`;
  if (typeof x === "object" && isPlainObject(x)) {
    const obj = x as Record<string, unknown>;
    const keys = Object.keys(obj).sort();
    return `{${keys.map((k) => `${JSON.stringify(k)}:${staticKey(obj[k], `${where}.${k}`)}`).join(",")}}`;
  }
  throw new TypeError(
    `${where} is a ${describeValue(x)}, which is not hashable: static arguments must be numbers, strings, ` +
      `booleans, null, functions, or arrays or plain objects of those`,
  );
}

interface Signature {
  /** The device of the first concrete array met. */
  device: string | undefined;
}

/**
 * One walk over a pytree of arguments (the same order as `tree.flatten`: object keys sorted): pushes
 * its leaves as arrays (JS numbers and booleans become weakly typed scalars) and returns a text naming
 * the structure and each leaf's dtype, shape and weak type. Throws on a value that is not a pytree.
 */
function signature(x: unknown, leaves: Tracer[], sig: Signature): string {
  let a: Tracer;
  if (x instanceof Tracer) {
    a = x;
    if (sig.device === undefined && x instanceof ConcreteArray) sig.device = x.device.id;
  } else if (typeof x === "number" || typeof x === "boolean") {
    a = asArray(x);
  } else if (x === null) return "N";
  else if (x === undefined) return "U";
  else if (Array.isArray(x)) {
    let k = "[";
    for (const c of x) k += signature(c, leaves, sig) + ",";
    return k + "]";
  } else if (typeof x === "object" && isPlainObject(x)) {
    const obj = x as Record<string, unknown>;
    let k = "{";
    for (const key of Object.keys(obj).sort())
      k += `${JSON.stringify(key)}:${signature(obj[key], leaves, sig)},`;
    return k + "}";
  } else {
    throw new TypeError(`${describeValue(x)} is not a valid pytree node`);
  }
  leaves.push(a);
  const v = a.aval;
  return `${v.dtype}[${v.shape.join(",")}]${v.weakType ? "w" : ""}`;
}

/**
 * `jit(f)` returns a function that traces `f` to a jaxpr on abstract arguments (shapes and dtypes,
 * not values) the first time it meets an input signature, and afterwards runs the cached program
 * through the `pjit` primitive: at top level that dispatches the whole program to the device (on
 * WebGPU asynchronously: nothing waits, `await x.data()` or `blockUntilReady` do); under `vmap`,
 * `makeJaxpr` or another `jit`, pjit's rules apply (batching the inner jaxpr, a nested pjit equation).
 *
 * The signature is: each array argument's shape, dtype and weak type (JS numbers are traced, not
 * static: weakly typed scalars, as Python scalars are in JAX), the pytree structure of the arguments, the
 * values of static arguments and the arguments' device. Because `f` only runs while tracing, its side
 * effects (`console.log`, pushing to an outer array) happen once per signature, not once per call, and
 * it sees tracers, not values, so it cannot branch on array values (as in JAX). Arrays `f` closes
 * over are captured as constants when it is traced; values of an outer transform it closes over
 * (a vmap tracer, an outer jit's tracer) become extra leading operands of the pjit equation, and such
 * traces are not cached.
 */
export function jit<A extends unknown[], R>(f: (...args: A) => R, options: JitOptions = {}): Jitted<A, R> {
  const name = f.name || "<lambda>";
  const fn = `jit(${name})`;
  const staticNums = indexList(options.staticArgnums, "staticArgnums", fn);
  const names =
    options.staticArgnames === undefined
      ? []
      : typeof options.staticArgnames === "string"
        ? [options.staticArgnames]
        : [...options.staticArgnames];
  let params: (string | null)[] = [];
  if (names.length) {
    params = parameterNames(f);
    for (const n of names) {
      const k = params.indexOf(n);
      if (k < 0) {
        throw new TypeError(
          `${fn}: staticArgnames names '${n}', but the function's parameters are (${params.map((p) => p ?? "<destructured>").join(", ")})`,
        );
      }
      if (!staticNums.includes(k)) staticNums.push(k);
    }
  }
  const donate = indexList(options.donateArgnums, "donateArgnums", fn);
  const both = donate.filter((d) => staticNums.includes(d));
  if (both.length) {
    throw new TypeError(`${fn}: static arguments cannot be donated (argument ${both.join(", ")})`);
  }

  const cache = new Map<string, CacheEntry>();
  let traceCount = 0;

  const describeArg = (i: number) => `argument ${i}${params[i] ? ` ('${params[i]}')` : ""}`;

  /** The error for an argument that is not a pytree of arrays, naming it. */
  const badArgument = (args: unknown[], dynamicPos: number[], e: unknown): TypeError => {
    // As JAX's "Argument 'x' of type <class 'str'> is not a valid JAX type".
    const bad =
      dynamicPos.find((i) => {
        try {
          flatten(args[i]);
          return false;
        } catch {
          return true;
        }
      }) ?? 0;
    return new TypeError(
      `${fn}: ${describeArg(bad)} of type ${describeValue(args[bad])} is not a valid array ` +
        `argument (arrays, numbers, booleans, and JS arrays/plain objects of them); mark it static ` +
        `with staticArgnums if it is a compile-time constant (${(e as Error).message})`,
      { cause: e },
    );
  };

  /**
   * The cache entry for these arguments (traced on a miss), their array leaves, and the outer
   * transforms' values the trace closed over (then the entry is not cached).
   */
  const traced = (args: A): { entry: CacheEntry; arrays: Tracer[]; hoisted: Tracer[]; device: string } => {
    const n = args.length;
    let key = "";
    let dynamic: unknown[] = args;
    let isStatic: boolean[] | undefined;
    if (staticNums.length) {
      isStatic = new Array<boolean>(n).fill(false);
      // As JAX, static positions beyond the arguments given are ignored; negative ones count from the end.
      for (const s of staticNums) {
        const k = s < 0 ? s + n : s;
        if (k >= 0 && k < n) isStatic[k] = true;
      }
      dynamic = [];
      for (let i = 0; i < n; i++) {
        if (isStatic[i]) key += `${i}=${staticKey(args[i], `${fn}: static ${describeArg(i)}`)};`;
        else dynamic.push(args[i]);
      }
    }
    const dynamicPos = () => args.map((_, i) => i).filter((i) => !isStatic?.[i]);
    // One walk gives the leaves (JS numbers made arrays) and the key of structure and avals.
    const arrays: Tracer[] = [];
    const sig: Signature = { device: undefined };
    try {
      key += signature(dynamic, arrays, sig);
    } catch (e) {
      throw badArgument(args, dynamicPos(), e);
    }
    const device = sig.device ?? defaultDevice().id;
    key += `|${device}`;

    let entry = cache.get(key);
    let hoisted: Tracer[] = [];
    if (!entry) {
      traceCount++;
      const builder = new JaxprBuilder();
      let outTree: TreeDef | undefined;
      const jaxpr = withNewDynamic(JaxprTrace, builder, (main) => {
        const trace = new JaxprTrace(main);
        const inTracers = arrays.map((a) => builder.newArg(trace, a.aval));
        const rebuilt = unflatten(flatten<unknown>(dynamic)[1], inTracers) as unknown[];
        const positions = dynamicPos();
        const full = args.map((a, i) => (isStatic?.[i] ? a : rebuilt[positions.indexOf(i)])) as A;
        const result = f(...full);
        let outs: unknown[];
        try {
          [outs, outTree] = flatten<unknown>(result);
        } catch (e) {
          throw new TypeError(
            `${fn}: the function's result is not a pytree of arrays: ${(e as Error).message}`,
            { cause: e },
          );
        }
        const outTracers = outs.map((o) => fullRaise(trace, o instanceof Tracer ? o : asArray(o as number)));
        return builder.build(inTracers, outTracers, true);
      });
      entry = { params: { jaxpr, name }, outTree: outTree! };
      hoisted = builder.hoistedConsts;
      // A trace that closed over an outer transform's tracers belongs to that transform's call only.
      if (hoisted.length === 0) cache.set(key, entry);
    }

    return { entry, arrays, hoisted, device };
  };

  const jitted = (...args: A): R => {
    const n = args.length;
    const { entry, arrays, hoisted } = traced(args);
    const outs = bind(Primitive.Pjit, hoisted.length ? [...hoisted, ...arrays] : arrays, entry.params);
    if (donate.length && outs.every((o) => o instanceof ConcreteArray)) {
      const returned = new Set<Tracer>(outs);
      for (const d of donate) {
        const k = d < 0 ? d + n : d;
        if (k < 0 || k >= n) continue;
        for (const leaf of flatten<unknown>(args[k])[0]) {
          if (leaf instanceof ConcreteArray && !returned.has(leaf)) leaf.dispose();
        }
      }
    }
    return unflatten(entry.outTree, outs) as R;
  };

  const lower = (...args: A): Lowered => {
    const { entry, hoisted, device } = traced(args);
    if (hoisted.length) {
      throw new TypeError(
        `${fn}.lower: the function closes over ${hoisted.length} value(s) of an outer transform ` +
          `(vmap, jit or makeJaxpr tracers), which exist only inside that transform: lower it outside`,
      );
    }
    return new Lowered(entry.params.jaxpr, name, device);
  };

  return Object.defineProperties(jitted, {
    lower: { value: lower },
    cacheSize: { value: () => cache.size },
    traceCount: { get: () => traceCount },
    clearCache: { value: () => cache.clear() },
    fnName: { value: name },
    name: { value: name },
  }) as unknown as Jitted<A, R>;
}
