/** Jaxprs: the engine's IR, printed in JAX's text format so users can compare with JAX's docs. */
import { DTYPE_SHORT_NAME, isDType } from "../dtype.js";
import { shortestFloat32 } from "../format.js";
import type { ShapedArray } from "./aval.js";
import type { ConcreteArray } from "./concrete-array.js";
import type { AnyParams, Primitive } from "./primitive.js";

export class Var {
  constructor(readonly aval: ShapedArray) {}
}

/** An inline scalar constant (JAX prints it as `2.0:f32[]`). */
export class Literal {
  constructor(
    readonly value: number | boolean,
    readonly aval: ShapedArray,
  ) {}
}

export type Atom = Var | Literal;

export class JaxprEqn {
  constructor(
    readonly primitive: Primitive,
    readonly inputs: Atom[],
    readonly params: AnyParams,
    readonly outBinders: Var[],
  ) {}
}

export class Jaxpr {
  constructor(
    readonly constVars: Var[],
    readonly inBinders: Var[],
    readonly eqns: JaxprEqn[],
    readonly outs: Atom[],
  ) {}

  toString(): string {
    return prettyPrint(this, 0);
  }
}

/** A jaxpr with the values of its constants (what `makeJaxpr` returns, like JAX's ClosedJaxpr). */
export class ClosedJaxpr {
  constructor(
    readonly jaxpr: Jaxpr,
    readonly consts: ConcreteArray[],
  ) {}

  get inAvals(): ShapedArray[] {
    return this.jaxpr.inBinders.map((v) => v.aval);
  }
  get outAvals(): ShapedArray[] {
    return this.jaxpr.outs.map((v) => v.aval);
  }
  get eqns(): JaxprEqn[] {
    return this.jaxpr.eqns;
  }

  toString(): string {
    return this.jaxpr.toString();
  }

  [Symbol.for("nodejs.util.inspect.custom")](): string {
    return this.toString();
  }
}

/** The jaxprs inside an equation's params (cond branches, loop bodies, a call's jaxpr, ...). */
export function innerJaxprs(eqn: JaxprEqn): Jaxpr[] {
  const found: Jaxpr[] = [];
  const visit = (x: unknown) => {
    if (x instanceof ClosedJaxpr) found.push(x.jaxpr);
    else if (x instanceof Jaxpr) found.push(x);
    else if (Array.isArray(x)) x.forEach(visit);
  };
  Object.values(eqn.params as object).forEach(visit);
  return found;
}

/** JAX's variable names: a, b, ..., z, ba, bb, ... */
function varName(n: number): string {
  let s = "";
  do {
    s = String.fromCharCode(97 + (n % 26)) + s;
    n = Math.floor(n / 26);
  } while (n > 0);
  return s;
}

function formatLiteral(l: Literal): string {
  let v: string;
  if (typeof l.value === "boolean") v = l.value ? "True" : "False";
  else if (l.aval.dtype === "float32" || l.aval.dtype === "float16") {
    // The shortest decimal that reads back as the same float32, as numpy's repr of a float32 scalar.
    const digits = shortestFloat32(Math.fround(l.value));
    v = Number.isFinite(l.value)
      ? /[.e]/.test(digits)
        ? digits
        : `${digits}.0`
      : Number.isNaN(l.value)
        ? "nan"
        : l.value > 0
          ? "inf"
          : "-inf";
  } else v = String(l.value);
  return `${v}:${DTYPE_SHORT_NAME[l.aval.dtype]}[]`;
}

/**
 * Per-primitive choice of the params a jaxpr shows, as JAX's `core.pp_eqn_rules` (dot_general hides
 * None-valued params and prints its dimension numbers as lists). Primitive files register entries.
 */
export const ppParamsRules = new Map<Primitive, (params: AnyParams) => Record<string, unknown>>();

/** A param value in Python's repr style, as JAX prints params (tuples, True/False, None). */
function formatParam(v: unknown, indent: number, names: NameCounter): string {
  if (v === null || v === undefined) return "None";
  if (typeof v === "boolean") return v ? "True" : "False";
  if (typeof v === "number" || isDType(v)) return String(v);
  if (typeof v === "string") return v;
  if (Array.isArray(v)) {
    const items = v.map((x) => formatParam(x, indent, names));
    return `(${items.join(", ")}${items.length === 1 ? "," : ""})`;
  }
  if (v instanceof ClosedJaxpr) return prettyPrint(v.jaxpr, indent + 2, names);
  if (v instanceof Jaxpr) return prettyPrint(v, indent + 2, names);
  return String(v);
}

/** Names are numbered across nested jaxprs, so an inner jaxpr's names never shadow outer ones (as JAX). */
interface NameCounter {
  count: number;
}

function prettyPrint(jaxpr: Jaxpr, indent: number, counter: NameCounter = { count: 0 }): string {
  const names = new Map<Var, string>();
  const name = (v: Var) => {
    let n = names.get(v);
    if (n === undefined) {
      n = varName(counter.count++);
      names.set(v, n);
    }
    return n;
  };
  const atom = (a: Atom) => (a instanceof Literal ? formatLiteral(a) : name(a));
  const binder = (v: Var) => `${name(v)}:${v.aval.strShort()}`;
  const pad = " ".repeat(indent);
  const head = `{ lambda ${jaxpr.constVars.map(binder).join(" ")}; ${jaxpr.inBinders.map(binder).join(" ")}. let`;
  const lines = jaxpr.eqns.map((eqn) => {
    const outs = eqn.outBinders.map(binder).join(" ") || "_";
    const params = Object.entries(ppParamsRules.get(eqn.primitive)?.(eqn.params) ?? eqn.params)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([k, v]) => `${k}=${formatParam(v, indent + 4, counter)}`);
    const p = params.length ? `[${params.join(" ")}]` : "";
    return `${pad}    ${outs} = ${eqn.primitive}${p} ${eqn.inputs.map(atom).join(" ")}`.trimEnd();
  });
  const outs = jaxpr.outs.map(atom);
  const tail = `${pad}  in (${outs.join(", ")}${outs.length === 1 ? "," : ""}) }`;
  return lines.length
    ? `${head}\n${lines.join("\n")}\n${tail}`
    : `${head}  in (${outs.join(", ")}${outs.length === 1 ? "," : ""}) }`;
}
