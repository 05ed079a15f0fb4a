/**
 * `%vmapbench f xs`: what batching buys, measured. For each batch size B (the first B examples of xs
 * along axis 0, tiled when xs has fewer), times a per-example loop of f, `vmap(f)`, `jit(vmap(f))`
 * (when the engine has jit) and an optional hand-batched g; every timing waits for the device
 * (blockUntilReady). The loop is timed on a bounded number of examples and extrapolated to B, so the
 * magic returns in seconds; the table says where it did.
 */
import * as engine from "../engine/index.js";
import { ConcreteArray } from "../engine/core/concrete-array.js";
import { Tracer } from "../engine/core/trace.js";
import { VEGA_LITE_SCHEMA, type VegaLiteSpec } from "./charts.js";

type Fn = (...args: unknown[]) => unknown;

export interface VmapbenchOptions {
  batches: number[];
  repeat: number;
  hand?: Fn;
  handName?: string;
  fName: string;
  /** Seconds of per-example calls to time per batch size (the rest is extrapolated). */
  loopBudget: number;
  /** The engine's jit, when it has one. */
  jit?: (f: Fn) => Fn;
}

export interface BenchRow {
  batch: number;
  variant: string;
  /** Seconds for the whole batch (best of the runs). */
  seconds: number;
  /** Examples per second. */
  throughput: number;
  /** Examples actually timed (the loop may time fewer than `batch` and extrapolate). */
  timed: number;
}

async function settle(v: unknown): Promise<void> {
  await engine.blockUntilReady(await v);
}

/** xs moved to the current default device (read back and rebuilt there), when it lives elsewhere. */
export async function onDefaultDevice(xs: Tracer): Promise<Tracer> {
  if (!(xs instanceof ConcreteArray) || xs.device === engine.defaultDevice()) return xs;
  const data = await xs.data();
  return engine.jnp.reshape(engine.jnp.array(data, { dtype: xs.dtype }), [...xs.shape]);
}

/** The first `batch` examples of xs along axis 0, tiling xs when it has fewer. */
function batchOf(xs: Tracer, batch: number): Tracer {
  const n = xs.shape[0];
  const source =
    batch > n ? engine.jnp.tile(xs, [Math.ceil(batch / n), ...xs.shape.slice(1).map(() => 1)]) : xs;
  return source.slice(`0:${batch}`);
}

/** Best time over `repeat` runs of `run` after one warm-up (compilation, pipeline creation). */
async function best(run: () => unknown, repeat: number): Promise<number> {
  let t0 = performance.now();
  await settle(run());
  const warm = (performance.now() - t0) / 1000;
  // A slow variant is not repeated (a run of more than 2 s is measured once more at most).
  const runs = warm > 2 ? 1 : repeat;
  let bestTime = Infinity;
  for (let r = 0; r < runs; r++) {
    t0 = performance.now();
    await settle(run());
    bestTime = Math.min(bestTime, (performance.now() - t0) / 1000);
  }
  return bestTime;
}

/**
 * The per-example loop over the first n examples (sliced outside the timing), n bounded so one pass
 * takes about `budget` seconds; best of `repeat` passes, extrapolated to the whole batch.
 */
async function loopTime(
  f: Fn,
  xb: Tracer,
  budget: number,
  repeat: number,
): Promise<{ seconds: number; timed: number }> {
  const batch = xb.shape[0];
  const warm = Array.from({ length: Math.min(batch, 3) }, (_, i) => xb.slice(i));
  await settle(warm);
  const t0 = performance.now();
  for (const x of warm) await settle(f(x)); // warm-up, and an estimate of the time per example
  const estimate = (performance.now() - t0) / 1000 / warm.length;
  const n = Math.min(batch, Math.max(1, Math.floor(budget / Math.max(estimate, 1e-7))));
  const examples = Array.from({ length: n }, (_, i) => xb.slice(i));
  await settle(examples);
  let bestTime = Infinity;
  for (let r = 0; r < (estimate * n > 2 ? 1 : repeat); r++) {
    const t = performance.now();
    await settle(examples.map((x) => f(x)));
    bestTime = Math.min(bestTime, (performance.now() - t) / 1000);
  }
  return { seconds: (bestTime / n) * batch, timed: n };
}

export async function runVmapbench(f: Fn, xsIn: Tracer, opts: VmapbenchOptions): Promise<BenchRow[]> {
  const xs = await onDefaultDevice(xsIn);
  const vf = engine.vmap(f) as Fn;
  const jvf = opts.jit ? opts.jit(vf) : undefined;
  const rows: BenchRow[] = [];
  const add = (batch: number, variant: string, seconds: number, timed = batch) =>
    rows.push({ batch, variant, seconds, throughput: batch / seconds, timed });
  for (const batch of opts.batches) {
    const xb = batchOf(xs, batch);
    await settle(xb);
    const loop = await loopTime(f, xb, opts.loopBudget, opts.repeat);
    add(batch, "loop", loop.seconds, loop.timed);
    add(batch, `vmap(${opts.fName})`, await best(() => vf(xb), opts.repeat));
    if (jvf) add(batch, `jit(vmap(${opts.fName}))`, await best(() => jvf(xb), opts.repeat));
    if (opts.hand) add(batch, opts.handName ?? "hand", await best(() => opts.hand!(xb), opts.repeat));
  }
  return rows;
}

/** The variants in the order they were measured. */
export function variantsOf(rows: BenchRow[]): string[] {
  return [...new Set(rows.map((r) => r.variant))];
}

function fmtTime(s: number): string {
  const units: [number, string][] = [
    [1, "s"],
    [1e-3, "ms"],
    [1e-6, "µs"],
    [1e-9, "ns"],
  ];
  for (const [u, name] of units) if (s >= u) return `${Number((s / u).toPrecision(3))} ${name}`;
  return `${Number((s / 1e-9).toPrecision(3))} ns`;
}

export function fmtRate(r: number): string {
  const units: [number, string][] = [
    [1e9, "G"],
    [1e6, "M"],
    [1e3, "k"],
  ];
  for (const [u, name] of units) if (r >= u) return `${Number((r / u).toPrecision(3))}${name}`;
  return String(Number(r.toPrecision(3)));
}

/** The batched variant the speed-up is reported for: jit(vmap(f)) when measured, else vmap(f). */
function fastVariant(variants: string[]): string {
  return (
    variants.find((v) => v.startsWith("jit(")) ?? variants.find((v) => v.startsWith("vmap(")) ?? variants[0]
  );
}

export interface BenchReport {
  text: string;
  html: string;
  spec: VegaLiteSpec;
}

export function report(rows: BenchRow[], header: string, notes: string[]): BenchReport {
  const variants = variantsOf(rows);
  const batches = [...new Set(rows.map((r) => r.batch))];
  const fast = fastVariant(variants);
  const cell = (b: number, v: string) => rows.find((r) => r.batch === b && r.variant === v);
  const speedup = (b: number) => {
    const l = cell(b, "loop");
    const j = cell(b, fast);
    return l && j ? l.seconds / j.seconds : NaN;
  };
  const speedName = `${fast} vs loop`;
  const head = ["batch", ...variants.map((v) => `${v} (ex/s)`), speedName];
  const body = batches.map((b) => [
    String(b),
    ...variants.map((v) => {
      const r = cell(b, v)!;
      const star = r.timed < r.batch ? "*" : "";
      return `${fmtTime(r.seconds)}${star} (${fmtRate(r.throughput)})`;
    }),
    `${speedup(b).toFixed(1)}×`,
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((r) => r[i].length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padStart(widths[i])).join("  ");
  const text = [
    header,
    line(head),
    widths.map((w) => "-".repeat(w)).join("  "),
    ...body.map(line),
    ...notes,
  ].join("\n");
  const esc = (s: string) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
  const html =
    `<table class="vmaplab-vmapbench"><caption>${esc(header)}</caption>` +
    `<thead><tr>${head.map((h) => `<th>${esc(h)}</th>`).join("")}</tr></thead>` +
    `<tbody>${body.map((r) => `<tr>${r.map((c) => `<td style="text-align:right">${esc(c)}</td>`).join("")}</tr>`).join("")}</tbody></table>` +
    notes.map((n) => `<p style="font-size:12px;color:#57606a;margin:2px 0">${esc(n)}</p>`).join("");

  const largest = Math.max(...batches);
  const at = cell(largest, fast);
  const label = at
    ? [
        {
          batch: largest,
          throughput: at.throughput,
          label: `${fast}: ${speedup(largest).toFixed(1)}× the loop`,
        },
      ]
    : [];
  const x = { field: "batch", type: "quantitative", scale: { type: "log" }, title: "batch size" };
  const y = { field: "throughput", type: "quantitative", scale: { type: "log" }, title: "examples / s" };
  const spec: VegaLiteSpec = {
    $schema: VEGA_LITE_SCHEMA,
    title: header,
    width: 420,
    height: 280,
    layer: [
      {
        data: { values: rows.map((r) => ({ batch: r.batch, throughput: r.throughput, variant: r.variant })) },
        mark: { type: "line", point: true },
        encoding: { x, y, color: { field: "variant", type: "nominal", sort: variants, title: "variant" } },
      },
      {
        data: { values: label },
        mark: { type: "text", align: "right", baseline: "bottom", dx: -4, dy: -8, fontWeight: "bold" },
        encoding: { x, y, text: { field: "label", type: "nominal" } },
      },
    ],
  };
  return { text, html, spec };
}
