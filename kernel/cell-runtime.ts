/**
 * What the generated cell code and the evaluator share at run time, kept apart from
 * cell-transform.ts so that using them does not load the TypeScript compiler.
 */
export class CellSyntaxError extends SyntaxError {
  constructor(
    message: string,
    readonly line: number,
    readonly column: number,
  ) {
    super(message);
    this.name = "SyntaxError";
  }
}

/** The runtime hook the generated code calls for `import` (set by the evaluator). */
export const IMPORT_HOOK = "__vmaplab_import__";
/** Setters of the script-scope bindings, for function declarations (which shadow them in the cell). */
export const SETTERS = "__vmaplab_setters__";
