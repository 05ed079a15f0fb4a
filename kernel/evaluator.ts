/**
 * Runs TypeScript cells in one persistent global scope (Node's main realm, like Node's REPL, so
 * values from npm packages and from cells are of the same realm). Knows nothing about ZeroMQ.
 */
import { createRequire, SourceMap } from "node:module";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import vm from "node:vm";
import { CellSyntaxError, IMPORT_HOOK, SETTERS } from "./cell-runtime.js";
import { rewriteMagics } from "./magic-syntax.js";

/** The TypeScript compiler is large: loaded on first use (or by `preload()`), not at start-up. */
let transformer: Promise<typeof import("./cell-transform.js")> | undefined;
const loadTransformer = () => (transformer ??= import("./cell-transform.js"));

export interface CellResult {
  hasValue: boolean;
  value: unknown;
  /** Top-level names the cell declared. */
  declared: readonly string[];
}

/** An error thrown by a cell, with its traceback mapped to the cell's own lines. */
export interface CellError {
  ename: string;
  evalue: string;
  traceback: string[];
}

const ENGINE_SPECIFIER = "vmaplab";
/** A stack frame in a cell (or a user expression): `cell[3]:2:7`. */
const CELL_FRAME = /((?:cell|user_expression)\[[^\]]+\]):(\d+):(\d+)/;
const KERNEL_DIR = path.dirname(fileURLToPath(import.meta.url));

export class Evaluator {
  /** Whether a SIGINT stops a cell's synchronous first part (see Kernel.onSigint). */
  breakOnSigint = true;
  /** Names cells have declared (as script-scope `let`s) so far. */
  private readonly declared = new Set<string>();
  /** The user's names since the last `%reset` (script-scope bindings cannot be removed, only cleared). */
  private readonly live = new Set<string>();
  /** The names `define` put in the global scope (the prelude), restored by `reset`. */
  private readonly prelude = new Map<string, unknown>();
  private readonly maps = new Map<
    string,
    { sourceMap: string | undefined; map?: SourceMap; source: string; lineCount: number }
  >();

  constructor(
    /** Absolute path of the engine's entry module, for `import ... from "vmaplab"`. */
    private readonly engineEntry: string,
    /** Modules the kernel provides itself (e.g. the tslab compatibility module). */
    private readonly virtualModules: Record<string, Record<string, unknown>> = {},
  ) {
    (globalThis as Record<string, unknown>)[IMPORT_HOOK] = (spec: string) => this.importModule(spec);
    (globalThis as Record<string, unknown>)[SETTERS] = {};
  }

  /** Loads the TypeScript compiler ahead of the first cell. */
  preload(): Promise<unknown> {
    return loadTransformer();
  }

  /** Puts names into the cells' global scope (the engine API, for one). */
  define(names: Record<string, unknown>): void {
    Object.assign(globalThis, names);
    for (const [k, v] of Object.entries(names)) this.prelude.set(k, v);
  }

  /** The names the user's cells defined (since the last reset), in the order first defined. */
  userNames(): string[] {
    return [...this.live];
  }

  /** The current value of a name a cell declared. */
  valueOf(name: string): unknown {
    if (!this.declared.has(name) || !/^[A-Za-z_$][\w$]*$/.test(name)) return undefined;
    return vm.runInThisContext(name) as unknown;
  }

  /**
   * Clears the user's names (IPython's `%reset -f`): each becomes undefined again, or the prelude's
   * value when a cell had shadowed a prelude name (the engine API stays). Returns how many.
   */
  reset(): number {
    const setters = (globalThis as Record<string, unknown>)[SETTERS] as Record<string, (v: unknown) => void>;
    const count = this.live.size;
    for (const name of this.live) setters[name]?.(this.prelude.get(name));
    this.live.clear();
    return count;
  }

  async run(source: string, cellName: string): Promise<CellResult> {
    const { transformCell } = await loadTransformer();
    // A cell whose JavaScript was terminated (interrupted in a synchronous loop) never got back
    // here, but its prologue had declared its names: those with a setter exist.
    for (const name of Object.keys((globalThis as Record<string, unknown>)[SETTERS] as object))
      this.declared.add(name);
    const cell = transformCell(rewriteMagics(source), `${cellName}.ts`, this.declared);
    this.maps.set(cellName, {
      // Parsed only when an error needs it (most cells never throw).
      sourceMap: cell.sourceMap,
      source,
      lineCount: cell.lineCount,
    });
    const script = new vm.Script(cell.code, { filename: cellName });
    // breakOnSigint: a SIGINT stops a synchronous loop in the cell's first part.
    let running: Promise<unknown>;
    try {
      running = script.runInThisContext({
        displayErrors: false,
        breakOnSigint: this.breakOnSigint,
      }) as Promise<unknown>;
    } catch (e) {
      // Interrupted: the script's bindings were made before its code ran.
      if ((e as { code?: string }).code === "ERR_SCRIPT_EXECUTION_INTERRUPTED") this.remember(cell.declared);
      throw e;
    }
    this.remember(cell.declared);
    const value = await running;
    return { hasValue: cell.hasValue && value !== undefined, value, declared: cell.declared };
  }

  private remember(names: readonly string[]): void {
    for (const n of names) {
      this.declared.add(n);
      this.live.add(n);
    }
  }

  private async importModule(spec: string): Promise<unknown> {
    if (spec === ENGINE_SPECIFIER) return import(pathToFileURL(this.engineEntry).href);
    if (Object.hasOwn(this.virtualModules, spec)) return this.virtualModules[spec];
    if (spec.startsWith("node:")) return import(spec);
    // Resolve like a script in the notebook's directory would, then fall back to the kernel's own deps.
    try {
      const resolved = createRequire(path.join(process.cwd(), "__cell__.js")).resolve(spec);
      return await import(pathToFileURL(resolved).href);
    } catch {
      try {
        const resolved = createRequire(this.engineEntry).resolve(spec);
        return await import(pathToFileURL(resolved).href);
      } catch {
        return import(spec);
      }
    }
  }

  /** Turns anything a cell threw into Jupyter's error fields, with positions in the cell's lines. */
  describeError(err: unknown): CellError {
    if (err instanceof CellSyntaxError) {
      return {
        ename: "SyntaxError",
        evalue: `${err.message} (line ${err.line}, column ${err.column})`,
        traceback: [`SyntaxError: ${err.message}`, `    at line ${err.line}, column ${err.column}`],
      };
    }
    if (!(err instanceof Error)) {
      const text = typeof err === "string" ? err : (JSON.stringify(err) ?? String(err));
      return { ename: "Uncaught", evalue: text, traceback: [`Uncaught ${text}`] };
    }
    const frames = (err.stack ?? "").split("\n").slice(1);
    const mapped: string[] = [];
    let snippet: string | undefined;
    for (const frame of frames) {
      if (frame.includes("node:internal") || frame.includes("node:vm")) continue;
      const m = frame.match(CELL_FRAME);
      // The call of the cell's async wrapper, on the generated last line, is not the user's code.
      if (m && Number(m[2]) === this.maps.get(m[1])?.lineCount) continue;
      if (m) {
        const pos = this.originalPosition(m[1], Number(m[2]), Number(m[3]));
        if (pos) {
          mapped.push(frame.replace(m[0], `${m[1]}:${pos.line}:${pos.column}`));
          snippet ??= this.sourceLine(m[1], pos.line, pos.column);
          continue;
        }
      }
      // The kernel's own frames (evaluator, display, message handling) never help the user.
      if (frame.includes(KERNEL_DIR)) continue;
      mapped.push(frame);
    }
    // Engine-internal frames after the last cell frame are noise to the user: drop them.
    const lastCell = mapped.map((f) => CELL_FRAME.test(f)).lastIndexOf(true);
    const shown = lastCell >= 0 ? mapped.slice(0, lastCell + 1) : mapped;
    const firstCell = shown.findIndex((f) => CELL_FRAME.test(f));
    const trimmed = firstCell > 2 ? [...shown.slice(0, 2), "    ...", ...shown.slice(firstCell)] : shown;
    const header = `${err.name}: ${err.message}`;
    return {
      ename: err.name,
      evalue: err.message,
      traceback: [header, ...trimmed, ...(snippet ? ["", snippet] : [])],
    };
  }

  private originalPosition(
    cell: string,
    line: number,
    column: number,
  ): { line: number; column: number } | undefined {
    const entry = this.maps.get(cell);
    if (!entry) return undefined;
    // Line 1 of the generated script is the prologue.
    const jsLine = line - 1;
    if (jsLine < 1) return undefined;
    if (!entry.sourceMap) return { line: jsLine, column };
    entry.map ??= new SourceMap(JSON.parse(entry.sourceMap));
    const found = entry.map.findEntry(jsLine - 1, column - 1) as {
      originalLine?: number;
      originalColumn?: number;
    };
    if (found.originalLine === undefined) return { line: jsLine, column };
    return { line: found.originalLine + 1, column: (found.originalColumn ?? 0) + 1 };
  }

  private sourceLine(cell: string, line: number, column: number): string | undefined {
    const text = this.maps.get(cell)?.source.split("\n")[line - 1];
    if (text === undefined) return undefined;
    const gutter = `${line} | `;
    return `${gutter}${text}\n${" ".repeat(gutter.length + column - 1)}^`;
  }
}
