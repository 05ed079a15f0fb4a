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
        return `() => [(${callee}), [${args}]]`;
      }
    }
  }
  return `() => { throw new TypeError("%jaxpr needs a call expression, like %jaxpr f(x)"); }`;
}
