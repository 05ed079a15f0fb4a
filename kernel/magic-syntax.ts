/**
 * Magic syntax in cells, as IPython's: a line `%name args` (anywhere in a cell, on its own line) and a
 * cell `%%name args` (first line). Magic lines become calls of the magic runtime, on the same line,
 * so the rest of the cell stays TypeScript and line numbers do not move. Expression arguments become
 * closures, so the magic decides when (and how often) to evaluate them, in the cell's own scope.
 */
export const MAGIC_HOOK = "__vmaplab_magic__";

/** Magics whose argument (after flags) is an expression to evaluate lazily. */
const EXPRESSION_MAGICS = new Set(["timeit", "time", "jaxpr"]);

/** Splits leading `-x value` / `-x` / `--long` flags off an argument string. */
export function splitFlags(args: string): { flags: string[]; rest: string } {
  const flags: string[] = [];
  let rest = args.trim();
  const withValue = new Set(["-n", "-r", "-p"]);
  for (;;) {
    const m = rest.match(/^(--?[A-Za-z-]+)(?:\s+|$)/);
    if (!m) break;
    flags.push(m[1]);
    rest = rest.slice(m[0].length);
    if (withValue.has(m[1])) {
      const v = rest.match(/^(\S+)(?:\s+|$)/);
      if (v) {
        flags.push(v[1]);
        rest = rest.slice(v[0].length);
      }
    }
  }
  return { flags, rest: rest.trim() };
}

/** The cell with magic lines replaced by calls of the magic runtime. */
export function rewriteMagics(code: string): string {
  const lines = code.split("\n");
  const first = lines.findIndex((l) => l.trim() !== "");
  if (first >= 0 && lines[first].trimStart().startsWith("%%")) {
    const header = lines[first].trimStart().slice(2);
    const [name, ...rest] = header.split(/\s+/);
    const body = lines.slice(first + 1).join("\n");
    // The body runs in its own async function (its declarations stay local, as in %%timeit).
    return (
      lines.slice(0, first).join("\n") +
      `${first > 0 ? "\n" : ""}await ${MAGIC_HOOK}(${JSON.stringify("%%" + name)}, ${JSON.stringify(rest.join(" "))}, async () => {\n${body}\n});`
    );
  }
  return lines
    .map((line) => {
      const m = line.match(/^(\s*)%([A-Za-z_][\w-]*)(\??)(.*)$/);
      if (!m) return line;
      const [, indent, name, help, args] = m;
      if (help) return `${indent}${MAGIC_HOOK}(${JSON.stringify(name)}, "?")`;
      if (EXPRESSION_MAGICS.has(name)) {
        const { flags, rest } = splitFlags(args);
        if (!rest)
          return `${indent}${MAGIC_HOOK}(${JSON.stringify(name)}, ${JSON.stringify(flags.join(" "))})`;
        // jaxpr wants the callee and the arguments of a call separately: a thunk returning both.
        const thunk = name === "jaxpr" ? jaxprThunk(rest) : `() => (${rest})`;
        return `${indent}await ${MAGIC_HOOK}(${JSON.stringify(name)}, ${JSON.stringify(flags.join(" "))}, ${thunk}, ${JSON.stringify(rest)})`;
      }
      if (name === "vmapbench") return `${indent}await ${vmapbenchCall(args)}`;
      return `${indent}${MAGIC_HOOK}(${JSON.stringify(name)}, ${JSON.stringify(args.trim())})`;
    })
    .join("\n");
}

/** `f(a, b)` becomes `() => [f, [a, b]]`; a call's callee may itself be a call (`vmap(f)(xs)`). */
function jaxprThunk(expr: string): string {
  // Find the last top-level parenthesised argument list.
  if (!expr.endsWith(")"))
    return `() => { throw new TypeError("%jaxpr needs a call expression, like %jaxpr f(x)"); }`;
  let depth = 0;
  for (let i = expr.length - 1; i >= 0; i--) {
    const c = expr[i];
    if (c === ")" || c === "]" || c === "}") depth++;
    else if (c === "(" || c === "[" || c === "{") {
      depth--;
      if (depth === 0) {
        const callee = expr.slice(0, i).trim();
        const args = expr.slice(i + 1, -1);
        if (!callee) break;
        // The callee's own first argument (`f` of `jit(f)`), for views that look through wrappers.
        const inner = wrappedArgument(callee);
        return `() => [(${callee}), [${args}]${inner ? `, () => (${inner})` : ""}]`;
      }
    }
  }
  return `() => { throw new TypeError("%jaxpr needs a call expression, like %jaxpr f(x)"); }`;
}

/** `inner` of a callee written `name(inner)` or `name(inner, options)`, else undefined. */
function wrappedArgument(callee: string): string | undefined {
  const m = callee.match(/^[A-Za-z_$][\w$.]*\s*\(/);
  if (!m || !callee.endsWith(")")) return undefined;
  const parts = splitTopLevel(callee.slice(m[0].length, -1), ",");
  if (!parts || !parts[0].trim()) return undefined;
  return parts[0].trim();
}

/** Splits at top-level separators (outside brackets and strings); undefined when unbalanced. */
function splitTopLevel(text: string, sep: "," | " "): string[] | undefined {
  const parts: string[] = [];
  let depth = 0;
  let quote: string | undefined;
  let start = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quote) {
      if (c === "\\") i++;
      else if (c === quote) quote = undefined;
    } else if (c === '"' || c === "'" || c === "`") quote = c;
    else if ("([{".includes(c)) depth++;
    else if (")]}".includes(c)) {
      if (--depth < 0) return undefined;
    } else if (depth === 0 && (sep === " " ? /\s/.test(c) : c === sep)) {
      parts.push(text.slice(start, i));
      start = i + 1;
    }
  }
  if (depth !== 0 || quote) return undefined;
  parts.push(text.slice(start));
  return sep === " " ? parts.filter((p) => p.trim() !== "") : parts;
}

/**
 * `%vmapbench f xs [--hand g] [--batch ...] [--device ...] [--repeat N]`: f, xs and g are expressions
 * (evaluated in the cell's scope by a thunk); the other flags go to the magic as text.
 */
function vmapbenchCall(args: string): string {
  const tokens = splitTopLevel(args.trim(), " ");
  const hook = (thunk: string, rest: string) =>
    `${MAGIC_HOOK}("vmapbench", ${JSON.stringify(rest)}${thunk ? `, ${thunk}, ${JSON.stringify(args.trim())}` : ""})`;
  if (!tokens) return hook("", "--unbalanced");
  const positional: string[] = [];
  const flags: string[] = [];
  let hand: string | undefined;
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i];
    if (t === "--hand") {
      hand = tokens[++i];
      if (hand === undefined) flags.push("--hand");
    } else if (t.startsWith("--")) {
      flags.push(t);
      if (i + 1 < tokens.length && !tokens[i + 1].startsWith("--")) flags.push(tokens[++i]);
    } else positional.push(t);
  }
  if (positional.length !== 2) return hook("", [`--positional=${positional.length}`, ...flags].join(" "));
  const [f, xs] = positional;
  const names = JSON.stringify({ f, hand: hand ?? null });
  const thunk = `() => ({ f: (${f}), xs: (${xs}), hand: ${hand ? `(${hand})` : "undefined"}, names: ${names} })`;
  return hook(thunk, flags.join(" "));
}
