/**
 * Charts in the notebook: Vega-Lite 5 specs shown as a bundle of `application/vnd.vegalite.v5+json`
 * (JupyterLab renders it), an `image/svg+xml` rendered in the kernel with vega (classic Notebook,
 * nbconvert and GitHub show that) and `text/plain`; never `text/html`, which JupyterLab would prefer.
 * vega and vega-lite are loaded on the first chart, so the kernel starts without them.
 * `plot.line/scatter/hist/heatmap` build specs from engine arrays or JS arrays.
 */
import { ConcreteArray } from "../engine/core/concrete-array.js";
import { Tracer } from "../engine/core/trace.js";

export type VegaLiteSpec = { [key: string]: unknown };
export type ChartBundle = Record<string, unknown>;

export const VEGA_LITE_MIME = "application/vnd.vegalite.v5+json";
export const VEGA_LITE_SCHEMA = "https://vega.github.io/schema/vega-lite/v5.json";
const JUPYTER_DISPLAY = Symbol.for("Jupyter.display");

/** A plain object whose `$schema` names Vega-Lite: `display(spec)` shows it as a chart. */
export function isVegaLiteSpec(x: unknown): x is VegaLiteSpec {
  if (typeof x !== "object" || x === null || Array.isArray(x)) return false;
  const schema = (x as { $schema?: unknown }).$schema;
  return typeof schema === "string" && /vega-lite/.test(schema);
}

interface VegaModules {
  compile(spec: VegaLiteSpec): { spec: unknown };
  parse(spec: unknown): unknown;
  View: new (
    runtime: unknown,
    options: { renderer: string },
  ) => {
    toSVG(): Promise<string>;
    finalize(): void;
  };
}

let modules: Promise<VegaModules> | undefined;
function loadVega(): Promise<VegaModules> {
  modules ??= Promise.all([import("vega"), import("vega-lite")]).then(([vega, vl]) => {
    const lite = ((vl as { compile?: unknown }).compile ? vl : (vl as { default: unknown }).default) as {
      compile: VegaModules["compile"];
    };
    return {
      compile: (spec) => lite.compile(spec as never),
      parse: (spec) => vega.parse(spec as never),
      View: vega.View as unknown as VegaModules["View"],
    };
  });
  return modules;
}

/** The chart as SVG, rendered headless (vega's `renderer: "none"` view). */
export async function renderSvg(spec: VegaLiteSpec): Promise<string> {
  const vega = await loadVega();
  const compiled = vega.compile(spec).spec;
  const view = new vega.View(vega.parse(compiled), { renderer: "none" });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

function describe(spec: VegaLiteSpec): string {
  const title = spec.title;
  const titleText =
    typeof title === "string"
      ? title
      : typeof title === "object" && title
        ? String((title as { text?: unknown }).text ?? "")
        : "";
  const mark = spec.mark ?? (Array.isArray(spec.layer) ? "layer" : undefined);
  const markName =
    typeof mark === "string"
      ? mark
      : typeof mark === "object" && mark
        ? String((mark as { type?: unknown }).type)
        : "chart";
  const values = (spec.data as { values?: unknown } | undefined)?.values;
  const points = Array.isArray(values) ? `, ${values.length} data points` : "";
  return `<Vega-Lite chart: ${markName}${titleText ? ` '${titleText}'` : ""}${points}>`;
}

/** The display bundle of a Vega-Lite spec (no text/html, on purpose). */
export async function chartBundle(spec: VegaLiteSpec): Promise<ChartBundle> {
  const full = { $schema: VEGA_LITE_SCHEMA, ...spec };
  return {
    [VEGA_LITE_MIME]: full,
    "image/svg+xml": await renderSvg(full),
    "text/plain": describe(full),
  };
}

/** A chart: shown when it is a cell's value or passed to `display`. */
export class Chart {
  private specPromise: Promise<VegaLiteSpec> | undefined;
  constructor(private readonly build: () => Promise<VegaLiteSpec>) {}

  /** The Vega-Lite spec (with the data read back from the device). */
  toSpec(): Promise<VegaLiteSpec> {
    return (this.specPromise ??= this.build());
  }

  async toSVG(): Promise<string> {
    return renderSvg(await this.toSpec());
  }

  async [JUPYTER_DISPLAY](): Promise<ChartBundle> {
    return chartBundle(await this.toSpec());
  }

  toString(): string {
    return "<Vega-Lite chart>";
  }
}

/** Numbers, engine arrays or nested JS arrays. */
export type Plottable = ArrayLike<number> | readonly (number | boolean)[] | Tracer | readonly Plottable[];

export interface PlotOptions {
  title?: string;
  xLabel?: string;
  yLabel?: string;
  width?: number;
  height?: number;
  /** Logarithmic axes. */
  logX?: boolean;
  logY?: boolean;
  color?: string;
}
export interface HistOptions extends PlotOptions {
  /** The maximum number of bins (Vega-Lite's `maxbins`), 20 by default. */
  bins?: number;
}
export interface HeatmapOptions extends PlotOptions {
  /** A Vega color scheme, "viridis" by default. */
  scheme?: string;
}

interface Matrix {
  values: number[];
  shape: number[];
}

async function readValues(x: unknown, what: string): Promise<Matrix> {
  if (x instanceof ConcreteArray) {
    const data = await x.data();
    return { values: Array.from(data, Number), shape: [...x.shape] };
  }
  if (x instanceof Tracer)
    throw new TypeError(`${what}: got a traced array (inside a transform); plot concrete arrays`);
  if (ArrayBuffer.isView(x))
    return {
      values: Array.from(x as unknown as ArrayLike<number>, Number),
      shape: [(x as unknown as ArrayLike<number>).length],
    };
  if (Array.isArray(x)) {
    if (x.length && (Array.isArray(x[0]) || x[0] instanceof ConcreteArray || ArrayBuffer.isView(x[0]))) {
      const rows = await Promise.all(x.map((r) => readValues(r, what)));
      const width = rows[0].values.length;
      if (rows.some((r) => r.values.length !== width))
        throw new TypeError(`${what}: rows of different lengths`);
      return { values: rows.flatMap((r) => r.values), shape: [rows.length, width] };
    }
    return { values: x.map((v: unknown) => Number(v)), shape: [x.length] };
  }
  if (typeof x === "number") return { values: [x], shape: [] };
  throw new TypeError(`${what}: expected an engine array or a JS array of numbers, got ${typeof x}`);
}

function vector(m: Matrix, what: string): number[] {
  if (m.shape.length > 1 && m.shape.filter((d) => d !== 1).length > 1)
    throw new TypeError(`${what}: expected 1-D data, got shape [${m.shape.join(", ")}]`);
  return m.values;
}

function scale(log: boolean | undefined): Record<string, unknown> {
  return log ? { scale: { type: "log" } } : {};
}

function frame(opts: PlotOptions): VegaLiteSpec {
  return {
    $schema: VEGA_LITE_SCHEMA,
    ...(opts.title ? { title: opts.title } : {}),
    width: opts.width ?? 400,
    height: opts.height ?? 260,
  };
}

function xyChart(kind: "line" | "point", what: string) {
  return (xs: Plottable, ys?: Plottable | PlotOptions, opts: PlotOptions = {}): Chart => {
    const onlyYs =
      ys === undefined ||
      (typeof ys === "object" && !Array.isArray(ys) && !(ys instanceof Tracer) && !ArrayBuffer.isView(ys));
    const options = onlyYs ? ((ys as PlotOptions | undefined) ?? {}) : opts;
    return new Chart(async () => {
      const y = vector(await readValues(onlyYs ? xs : ys, what), what);
      const x = onlyYs ? y.map((_, i) => i) : vector(await readValues(xs, what), what);
      if (x.length !== y.length)
        throw new TypeError(`${what}: xs has ${x.length} values but ys has ${y.length}`);
      return {
        ...frame(options),
        data: { values: x.map((xv, i) => ({ x: xv, y: y[i] })) },
        mark:
          kind === "line"
            ? { type: "line", ...(options.color ? { color: options.color } : {}) }
            : { type: "point", filled: true, ...(options.color ? { color: options.color } : {}) },
        encoding: {
          x: { field: "x", type: "quantitative", title: options.xLabel ?? "x", ...scale(options.logX) },
          y: { field: "y", type: "quantitative", title: options.yLabel ?? "y", ...scale(options.logY) },
        },
      };
    });
  };
}

/** The `plot` helper of the cell scope. */
export const plot = {
  /** A line chart of ys against xs (or against 0, 1, ... when only ys is given). */
  line: xyChart("line", "plot.line"),
  /** A scatter plot of ys against xs. */
  scatter: xyChart("point", "plot.scatter"),
  /** A histogram of the values (all elements of an array). */
  hist(values: Plottable, opts: HistOptions = {}): Chart {
    return new Chart(async () => {
      const v = (await readValues(values, "plot.hist")).values;
      return {
        ...frame(opts),
        data: { values: v.map((x) => ({ value: x })) },
        mark: { type: "bar", ...(opts.color ? { color: opts.color } : {}) },
        encoding: {
          x: {
            field: "value",
            type: "quantitative",
            bin: { maxbins: opts.bins ?? 20 },
            title: opts.xLabel ?? "value",
          },
          y: { aggregate: "count", type: "quantitative", title: opts.yLabel ?? "count", ...scale(opts.logY) },
        },
      };
    });
  },
  /** A heatmap of a 2-D array: row i, column j coloured by matrix[i][j]. */
  heatmap(matrix: Plottable, opts: HeatmapOptions = {}): Chart {
    return new Chart(async () => {
      const m = await readValues(matrix, "plot.heatmap");
      if (m.shape.length !== 2)
        throw new TypeError(`plot.heatmap: expected a 2-D array, got shape [${m.shape.join(", ")}]`);
      const [rows, cols] = m.shape;
      const values = m.values.map((v, k) => ({ row: Math.floor(k / cols), col: k % cols, value: v }));
      return {
        ...frame({ width: Math.min(400, 20 * cols + 40), height: Math.min(400, 20 * rows + 20), ...opts }),
        data: { values },
        mark: "rect",
        encoding: {
          x: { field: "col", type: "ordinal", title: opts.xLabel ?? "column" },
          y: { field: "row", type: "ordinal", title: opts.yLabel ?? "row" },
          color: { field: "value", type: "quantitative", scale: { scheme: opts.scheme ?? "viridis" } },
        },
      };
    });
  },
  /** Any Vega-Lite 5 spec as a chart. */
  vegaLite(spec: VegaLiteSpec): Chart {
    if (typeof spec !== "object" || spec === null || Array.isArray(spec))
      throw new TypeError("plot.vegaLite: expected a Vega-Lite spec object");
    return new Chart(async () => ({ $schema: VEGA_LITE_SCHEMA, ...spec }));
  },
};
