/**
 * Turns a TypeScript cell into JavaScript that runs in the kernel's persistent global scope:
 * top-level declarations become assignments to script-scope `let`s, declared once by the first cell
 * that names them (so a re-run cell may redeclare them, and code reads them as fast as module
 * variables: global-object properties would make hot loops over top-level variables slow),
 * the body runs in an async function (top-level `await`), imports become dynamic imports, and the
 * last expression statement is returned as the cell's value. Edits keep the transpiled line layout,
 * so a source map from the TypeScript compiler maps errors back to the cell's own lines.
 */
import ts from "typescript";
import { CellSyntaxError, IMPORT_HOOK, SETTERS } from "./cell-runtime.js";

export { CellSyntaxError, IMPORT_HOOK, SETTERS };

export interface TransformedCell {
  /** JavaScript to run as a script; its first line is the prologue. */
  code: string;
  /** Source map of the transpiled (pre-prologue) JavaScript back to the cell. */
  sourceMap: string | undefined;
  /** Names the cell declares at top level. */
  declared: string[];
  /** Whether the cell ends in an expression whose value is the cell's result. */
  hasValue: boolean;
  /** Lines of `code`; the last one only calls the cell's async wrapper. */
  lineCount: number;
}

const COMPILER_OPTIONS: ts.CompilerOptions = {
  target: ts.ScriptTarget.ES2022,
  module: ts.ModuleKind.ESNext,
  moduleDetection: ts.ModuleDetectionKind.Force,
  sourceMap: true,
  removeComments: false,
  useDefineForClassFields: true,
  experimentalDecorators: false,
  // Keep every import: a cell may import a name that only later cells use.
  verbatimModuleSyntax: true,
  esModuleInterop: true,
};

/** What a cell's source becomes before its prologue, which depends on the names declared so far. */
interface RewrittenCell {
  body: string;
  sourceMap: string | undefined;
  declared: string[];
  exportedFunctions: string[];
  hasValue: boolean;
}

/**
 * Rewritten cells by source text: re-running a cell (or a loop of the same small cell) skips the
 * TypeScript transpile, which costs milliseconds even for `1+1`. Source maps only serve line and
 * column mapping, so the file name the transpile saw does not matter.
 */
const rewritten = new Map<string, RewrittenCell>();
const MAX_REMEMBERED = 128;

/** `known`: names earlier cells declared already (they exist in the global scope). */
export function transformCell(
  source: string,
  fileName: string,
  known: ReadonlySet<string> = new Set(),
): TransformedCell {
  let cell = rewritten.get(source);
  if (!cell) {
    cell = rewrite(source, fileName);
    rewritten.set(source, cell);
    if (rewritten.size > MAX_REMEMBERED) rewritten.delete(rewritten.keys().next().value!);
  }
  return withPrologue(cell, known);
}

function rewrite(source: string, fileName: string): RewrittenCell {
  const out = ts.transpileModule(source, {
    compilerOptions: COMPILER_OPTIONS,
    fileName,
    reportDiagnostics: true,
  });
  const errors = (out.diagnostics ?? []).filter((d) => d.category === ts.DiagnosticCategory.Error);
  if (errors.length) {
    const d = errors[0];
    const pos =
      d.file && d.start !== undefined
        ? d.file.getLineAndCharacterOfPosition(d.start)
        : { line: 0, character: 0 };
    throw new CellSyntaxError(
      ts.flattenDiagnosticMessageText(d.messageText, "\n"),
      pos.line + 1,
      pos.character + 1,
    );
  }
  const js = out.outputText.replace(/\n\/\/# sourceMappingURL=.*$/s, "");
  return rewriteTopLevel(js, out.sourceMapText);
}

interface Edit {
  start: number;
  end: number;
  text: string;
}

function bindingNames(name: ts.BindingName, into: string[]): void {
  if (ts.isIdentifier(name)) into.push(name.text);
  else for (const el of name.elements) if (!ts.isOmittedExpression(el)) bindingNames(el.name, into);
}

/** Same number of newlines as `original`, so edits never move later lines. */
function keepLines(text: string, original: string): string {
  const missing = (original.match(/\n/g) ?? []).length - (text.match(/\n/g) ?? []).length;
  return missing > 0 ? text + "\n".repeat(missing) : text;
}

function rewriteTopLevel(js: string, sourceMap: string | undefined): RewrittenCell {
  const sf = ts.createSourceFile("cell.js", js, ts.ScriptTarget.ES2022, true, ts.ScriptKind.JS);
  const declared: string[] = [];
  const exportedFunctions: string[] = [];
  const edits: Edit[] = [];
  const text = (n: ts.Node) => js.slice(n.getStart(sf), n.end);
  let importCount = 0;

  // `moduleDetection: force` makes TypeScript append `export {};`: it is not part of the cell.
  const statements = sf.statements.filter(
    (st) =>
      !(
        ts.isExportDeclaration(st) &&
        !st.moduleSpecifier &&
        st.exportClause &&
        ts.isNamedExports(st.exportClause) &&
        st.exportClause.elements.length === 0
      ),
  );
  for (const st of sf.statements) {
    if (!statements.includes(st)) edits.push({ start: st.getStart(sf), end: st.end, text: "" });
  }
  statements.forEach((st, index) => {
    const isLast = index === statements.length - 1;
    // `export` has no meaning in a cell: drop the keyword.
    const mods = ts.canHaveModifiers(st) ? ts.getModifiers(st) : undefined;
    for (const m of mods ?? []) {
      if (m.kind === ts.SyntaxKind.ExportKeyword || m.kind === ts.SyntaxKind.DefaultKeyword) {
        edits.push({ start: m.getStart(sf), end: m.end, text: "" });
      }
    }
    if (ts.isVariableStatement(st)) {
      const parts = st.declarationList.declarations.map((d) => {
        const names: string[] = [];
        bindingNames(d.name, names);
        declared.push(...names);
        const init = d.initializer ? text(d.initializer) : "undefined";
        if (ts.isIdentifier(d.name)) return `${d.name.text} = ${init}`;
        // Destructuring: bind through an arrow's parameter list, which accepts any binding pattern.
        return `[${names.join(", ")}] = ((${text(d.name)}) => [${names.join(", ")}])(${init})`;
      });
      const original = js.slice(st.getStart(sf), st.end);
      edits.push({
        start: st.getStart(sf),
        end: st.end,
        text: keepLines(`void (${parts.join(", ")});`, original),
      });
    } else if (ts.isFunctionDeclaration(st) && st.name) {
      // Stays a declaration (hoisted within the cell) and is published to the global at the cell's start.
      declared.push(st.name.text);
      exportedFunctions.push(st.name.text);
    } else if (ts.isClassDeclaration(st) && st.name) {
      declared.push(st.name.text);
      const classKeyword = st.getChildren(sf).find((c) => c.kind === ts.SyntaxKind.ClassKeyword)!;
      edits.push({
        start: classKeyword.getStart(sf),
        end: classKeyword.getStart(sf),
        text: `${st.name.text} = `,
      });
      edits.push({ start: st.end, end: st.end, text: ";" });
    } else if (ts.isImportDeclaration(st)) {
      const spec = (st.moduleSpecifier as ts.StringLiteral).text;
      const tmp = `__vmaplab_module_${importCount++}`;
      const assigns: string[] = [];
      const clause = st.importClause;
      if (clause && !clause.isTypeOnly) {
        if (clause.name) {
          declared.push(clause.name.text);
          assigns.push(`${clause.name.text} = ("default" in ${tmp} ? ${tmp}.default : ${tmp});`);
        }
        const nb = clause.namedBindings;
        if (nb && ts.isNamespaceImport(nb)) {
          declared.push(nb.name.text);
          assigns.push(`${nb.name.text} = ${tmp};`);
        } else if (nb) {
          for (const el of nb.elements) {
            if (el.isTypeOnly) continue;
            declared.push(el.name.text);
            assigns.push(`${el.name.text} = ${tmp}[${JSON.stringify((el.propertyName ?? el.name).text)}];`);
          }
        }
      }
      const replacement = `const ${tmp} = await ${IMPORT_HOOK}(${JSON.stringify(spec)}); ${assigns.join(" ")}`;
      edits.push({ start: st.getStart(sf), end: st.end, text: keepLines(replacement, text(st)) });
    } else if (ts.isExportAssignment(st) || (ts.isExportDeclaration(st) && !st.moduleSpecifier)) {
      edits.push({ start: st.getStart(sf), end: st.end, text: "" });
    }
    if (isLast && ts.isExpressionStatement(st)) {
      edits.push({ start: st.getStart(sf), end: st.getStart(sf), text: "return (" });
      edits.push({ start: st.expression.end, end: st.end, text: ");" });
    }
  });

  let body = js;
  for (const e of edits.sort((a, b) => b.start - a.start || b.end - a.end)) {
    body = body.slice(0, e.start) + e.text + body.slice(e.end);
  }
  const hasValue = statements.length > 0 && ts.isExpressionStatement(statements[statements.length - 1]);
  return { body, sourceMap, declared: [...new Set(declared)], exportedFunctions, hasValue };
}

/** The cell's code: script-scope `let`s and setters for the names no earlier cell declared. */
function withPrologue(cell: RewrittenCell, known: ReadonlySet<string>): TransformedCell {
  const { body, sourceMap, declared, exportedFunctions, hasValue } = cell;
  const fresh = declared.filter((n) => !known.has(n));
  const setters = fresh.map((n) => `${SETTERS}[${JSON.stringify(n)}] = (v) => { ${n} = v; };`).join(" ");
  const publish = exportedFunctions.map((f) => `${SETTERS}[${JSON.stringify(f)}](${f});`).join(" ");
  const prologue = `${fresh.length ? `let ${fresh.join(", ")}; ${setters} ` : ""}(async () => { ${publish}`;
  const code = `${prologue}\n${body}\n})()`;
  return { code, sourceMap, declared: [...declared], hasValue, lineCount: code.split("\n").length };
}
