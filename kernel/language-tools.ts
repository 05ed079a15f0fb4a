/**
 * Completions and inspection from the TypeScript language service, knowing the engine's API (the
 * names in every cell's scope) and every cell that ran successfully. Cells are kept as global script
 * files, newest first, so a redeclared name takes the type of its latest declaration.
 */
import path from "node:path";
import ts from "typescript";

const DIR = "/__vmaplab__";
const PRELUDE = `${DIR}/prelude.d.ts`;
const CURRENT = `${DIR}/current.ts`;
const MAX_CELLS = 200;
/**
 * Diagnostics that only reflect how cells share one scope (a re-run cell redeclares its names;
 * top-level await is fine in a cell): never reported to the user. 6200/6203/6204 are how TypeScript
 * reports many redeclarations at once (8 or more names of one cell in another file).
 */
const CELL_SCOPE_CODES = new Set([2451, 2300, 2393, 2403, 1375, 1378, 1309, 2440, 6200, 6203, 6204]);

/** Rewrites `import` statements into global declarations (a cell with imports would be a module). */
function globalizeImports(code: string): { text: string; delta: (pos: number) => number } {
  const sf = ts.createSourceFile("cell.ts", code, ts.ScriptTarget.Latest, true);
  const edits: { start: number; end: number; text: string }[] = [];
  for (const st of sf.statements) {
    if (ts.isImportDeclaration(st) && ts.isStringLiteral(st.moduleSpecifier)) {
      const spec = JSON.stringify(st.moduleSpecifier.text);
      const decls: string[] = [];
      const clause = st.importClause;
      if (clause?.name) decls.push(`declare const ${clause.name.text}: typeof import(${spec}).default;`);
      const nb = clause?.namedBindings;
      if (nb && ts.isNamespaceImport(nb))
        decls.push(`declare const ${nb.name.text}: typeof import(${spec});`);
      else if (nb) {
        for (const el of nb.elements) {
          const member = `import(${spec}).${(el.propertyName ?? el.name).text}`;
          // Whether the name is a type, a value or both is not known here: type-only imports are
          // types; other names are values, and also types when capitalised (classes, interfaces,
          // enums), since a type alias of a plain function or constant would be an error.
          const typeOnly = Boolean(clause?.isTypeOnly || el.isTypeOnly);
          if (typeOnly || /^[A-Z]/.test(el.name.text)) decls.push(`type ${el.name.text} = ${member};`);
          if (!typeOnly) decls.push(`declare const ${el.name.text}: typeof ${member};`);
        }
      }
      edits.push({ start: st.getStart(sf), end: st.end, text: decls.join(" ") });
    } else if (ts.isExportDeclaration(st) || ts.isExportAssignment(st)) {
      edits.push({ start: st.getStart(sf), end: st.end, text: "" });
    }
  }
  let text = code;
  for (const e of [...edits].reverse()) text = text.slice(0, e.start) + e.text + text.slice(e.end);
  const delta = (pos: number) => {
    let d = 0;
    for (const e of edits) if (e.end <= pos) d += e.text.length - (e.end - e.start);
    return pos + d;
  };
  return { text, delta };
}

export interface CompleteResult {
  [key: string]: unknown;
  matches: string[];
  cursor_start: number;
  cursor_end: number;
  metadata: { _jupyter_types_experimental: { text: string; type: string; start: number; end: number }[] };
}

export class LanguageTools {
  private readonly files = new Map<string, { text: string; version: number }>();
  /** File names of the remembered cells, newest first (each cell keeps its file: unchanged files are not re-parsed). */
  private cells: string[] = [];
  private cellCount = 0;
  private readonly service: ts.LanguageService;
  private readonly libraries = new Map<string, ts.IScriptSnapshot>();
  private readonly resolutions: ts.ModuleResolutionCache;

  /**
   * `engineTypes`: the engine's .d.ts; `scopeNames`: the engine exports every cell sees without an
   * import (the kernel's cell scope, so the two lists cannot drift apart).
   */
  constructor(engineTypes: string, scopeNames: readonly string[]) {
    const prelude = [
      `import type * as __vmaplab from ${JSON.stringify(engineTypes)};`,
      `import type * as __vmaplab_charts from ${JSON.stringify(path.resolve(path.dirname(engineTypes), "../kernel/charts.js"))};`,
      "declare global {",
      "  const vmaplab: typeof __vmaplab;",
      "  /** Charts (Vega-Lite, with an SVG rendering): plot.line, plot.scatter, plot.hist, plot.heatmap, plot.vegaLite. */",
      "  const plot: typeof __vmaplab_charts.plot;",
      ...scopeNames.map((n) => `  const ${n}: typeof __vmaplab.${n};`),
      "  /** Shows a value (or, with {raw: true}, a MIME bundle) as a cell output; returns a handle to update it. */",
      "  function display(value: unknown, options?: { raw?: boolean; displayId?: string; update?: boolean; metadata?: Record<string, unknown> }): { displayId: string; update(value: unknown): void };",
      "  /** Clears the cell's output (with {wait: true}, when the next output arrives). */",
      "  function clearOutput(options?: { wait?: boolean }): void;",
      "  function __vmaplab_magic__(name: string, args: string, thunk?: () => unknown, source?: string): Promise<unknown>;",
      "  /** Asks the user for a line of input in the notebook. */",
      "  function prompt(message?: string, options?: { password?: boolean }): string;",
      "}",
      "export {};",
    ].join("\n");
    this.set(PRELUDE, prelude);
    this.set(CURRENT, "");
    const options: ts.CompilerOptions = {
      target: ts.ScriptTarget.ES2022,
      module: ts.ModuleKind.NodeNext,
      moduleResolution: ts.ModuleResolutionKind.NodeNext,
      strict: true,
      allowJs: true,
      skipLibCheck: true,
      types: ["node"],
      typeRoots: [path.resolve(path.dirname(engineTypes), "../../node_modules/@types")],
      lib: ["lib.es2022.d.ts"],
      // Only import/export make a module: cells are scripts sharing one global scope.
      moduleDetection: ts.ModuleDetectionKind.Legacy,
    };
    // getModuleResolutionCache is part of TypeScript's internal host interface (used when the host
    // resolves modules itself); without it, we only lose speed.
    const host: ts.LanguageServiceHost & { getModuleResolutionCache(): ts.ModuleResolutionCache } = {
      getCompilationSettings: () => options,
      getScriptFileNames: () => [PRELUDE, ...this.cells, CURRENT],
      getScriptVersion: (f) => String(this.files.get(f)?.version ?? 0),
      getScriptSnapshot: (f) => {
        const own = this.files.get(f);
        if (own) return ts.ScriptSnapshot.fromString(own.text);
        // Library and package files do not change while the kernel runs: read each once (the
        // service asks for every file's snapshot whenever a cell's text changes).
        let snapshot = this.libraries.get(f);
        if (!snapshot) {
          const text = ts.sys.readFile(f);
          if (text === undefined) return undefined;
          snapshot = ts.ScriptSnapshot.fromString(text);
          this.libraries.set(f, snapshot);
        }
        return snapshot;
      },
      getCurrentDirectory: () => process.cwd(),
      getDefaultLibFileName: (o) => ts.getDefaultLibFilePath(o),
      fileExists: (f) => this.files.has(f) || ts.sys.fileExists(f),
      readFile: (f) => this.files.get(f)?.text ?? ts.sys.readFile(f),
      readDirectory: ts.sys.readDirectory,
      directoryExists: (d) => d === DIR || ts.sys.directoryExists(d),
      getDirectories: ts.sys.getDirectories,
      // One module resolution cache for the whole session: without it every program (one per change
      // of a cell's text) reads the package.json of every library file again (for NodeNext's formats).
      getModuleResolutionCache: () => this.resolutions,
      resolveModuleNameLiterals: (literals, containingFile, redirected, opts, containingSourceFile) =>
        literals.map((literal) =>
          ts.resolveModuleName(
            literal.text,
            containingFile,
            opts,
            host,
            this.resolutions,
            redirected,
            ts.getModeForUsageLocation(containingSourceFile, literal, opts),
          ),
        ),
    };
    this.resolutions = ts.createModuleResolutionCache(process.cwd(), (f) => f, options);
    this.service = ts.createLanguageService(host, ts.createDocumentRegistry());
  }

  /** Remembers a cell that ran successfully. */
  addCell(code: string): void {
    const name = `${DIR}/cell${this.cellCount++}.ts`;
    this.set(name, globalizeImports(code).text);
    this.cells.unshift(name);
    for (const old of this.cells.splice(MAX_CELLS)) this.files.delete(old);
  }

  complete(code: string, cursor: number): CompleteResult {
    const { text, delta } = globalizeImports(code);
    this.set(CURRENT, text);
    // The identifier being typed: from the last non-word character to the cursor.
    let start = cursor;
    while (start > 0 && /[\w$]/.test(code[start - 1])) start--;
    const prefix = code.slice(start, cursor);
    const info = this.service.getCompletionsAtPosition(CURRENT, delta(cursor), {
      includeCompletionsWithInsertText: true,
    });
    const entries = (info?.entries ?? [])
      .filter((e) => e.name.startsWith(prefix) && !e.name.startsWith("__"))
      .sort((a, b) =>
        a.sortText === b.sortText ? a.name.localeCompare(b.name) : a.sortText < b.sortText ? -1 : 1,
      )
      .slice(0, 500);
    return {
      matches: entries.map((e) => e.name),
      cursor_start: start,
      cursor_end: cursor,
      metadata: {
        _jupyter_types_experimental: entries.map((e) => ({ text: e.name, type: e.kind, start, end: cursor })),
      },
    };
  }

  /** Signature and documentation of the symbol at (or just before) the cursor. */
  inspect(code: string, cursor: number, detailLevel: number): string | undefined {
    const { text, delta } = globalizeImports(code);
    this.set(CURRENT, text);
    const at = (p: number) => this.service.getQuickInfoAtPosition(CURRENT, delta(p));
    const info = at(cursor) ?? (cursor > 0 ? at(cursor - 1) : undefined);
    if (!info) return undefined;
    const signature = ts.displayPartsToString(info.displayParts);
    const doc = ts.displayPartsToString(info.documentation);
    const parts = [signature];
    if (doc) parts.push("", doc);
    if (detailLevel > 0 && info.tags?.length) {
      parts.push("", ...info.tags.map((t) => `@${t.name} ${ts.displayPartsToString(t.text)}`.trim()));
    }
    return parts.join("\n");
  }

  /** Type errors of a cell, given the cells before it (warnings; they do not stop execution). */
  typeErrors(code: string): string[] {
    const { text } = globalizeImports(code);
    this.set(CURRENT, text);
    const sf = ts.createSourceFile("c.ts", text, ts.ScriptTarget.Latest);
    return this.service
      .getSemanticDiagnostics(CURRENT)
      .filter((d) => !CELL_SCOPE_CODES.has(d.code))
      .map((d) => {
        const pos =
          d.start !== undefined ? sf.getLineAndCharacterOfPosition(d.start) : { line: 0, character: 0 };
        return `line ${pos.line + 1}, column ${pos.character + 1}: ${ts.flattenDiagnosticMessageText(d.messageText, "\n")} (TS${d.code})`;
      });
  }

  private set(name: string, text: string): void {
    const old = this.files.get(name);
    if (old?.text === text) return;
    this.files.set(name, { text, version: (old?.version ?? 0) + 1 });
    // A new import: resolve afresh (a package may have been installed since a failed resolution).
    if (text.includes("import(")) this.resolutions?.clear();
  }
}
