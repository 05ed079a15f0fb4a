/**
 * The parameter names of a JS function, read from its source text (JS has no `inspect.signature`):
 * what `jit`'s `staticArgnames` maps to positions. A destructured parameter (`{a, b}`, `[x, y]`) has
 * no name (null); a rest parameter `...xs` is named `xs`.
 */

/** Skips a string, template literal or comment starting at `i`; returns the index after it, or `i`. */
function skipLiteral(src: string, i: number): number {
  const c = src[i];
  if (c === '"' || c === "'" || c === "`") {
    let j = i + 1;
    while (j < src.length && src[j] !== c) j += src[j] === "\\" ? 2 : 1;
    return j + 1;
  }
  if (c === "/" && src[i + 1] === "*") {
    const end = src.indexOf("*/", i + 2);
    return end < 0 ? src.length : end + 2;
  }
  if (c === "/" && src[i + 1] === "/") {
    const end = src.indexOf("\n", i + 2);
    return end < 0 ? src.length : end + 1;
  }
  return i;
}

export function parameterNames(f: (...args: never[]) => unknown): (string | null)[] {
  const src = Function.prototype.toString.call(f);
  // `x => ...` and `async x => ...`: a single parameter without parentheses.
  const bare = /^\s*(?:async\s+)?([A-Za-z_$][\w$]*)\s*=>/.exec(src);
  if (bare) return [bare[1]];
  let start = -1;
  for (let i = 0; i < src.length;) {
    const j = skipLiteral(src, i);
    if (j !== i) {
      i = j;
      continue;
    }
    if (src[i] === "(") {
      start = i;
      break;
    }
    i++;
  }
  if (start < 0) return [];
  // Split the parameter list at top-level commas (defaults may hold parentheses, brackets, strings).
  const parts: string[] = [];
  let depth = 0;
  let current = "";
  for (let i = start + 1; i < src.length;) {
    const j = skipLiteral(src, i);
    if (j !== i) {
      if (src[i] !== "/") current += src.slice(i, j);
      i = j;
      continue;
    }
    const c = src[i];
    if (c === "(" || c === "[" || c === "{") depth++;
    else if (c === ")" || c === "]" || c === "}") {
      if (depth === 0) {
        parts.push(current);
        break;
      }
      depth--;
    } else if (c === "," && depth === 0) {
      parts.push(current);
      current = "";
      i++;
      continue;
    }
    current += c;
    i++;
  }
  return parts
    .map((p) => p.trim())
    .filter((p) => p !== "")
    .map((p) => {
      const m = /^(?:\.\.\.\s*)?([A-Za-z_$][\w$]*)/.exec(p);
      return m ? m[1] : null;
    });
}
