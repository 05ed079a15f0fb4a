/**
 * The magics (`%lsmagic`, `%jaxpr`, `%timeit`, `%time`, `%device`, `%typecheck`, `%vmapbench`, `%env`,
 * `%who`, `%reset`), run on the main thread by the calls that magic-syntax.ts puts in place of magic
 * lines (`%%typecheck` is answered by the protocol thread, which has the type checker). Output
 * formats follow IPython.
 */
import { inspect } from "node:util";
import * as engine from "../engine/index.js";
import { blockUntilReady, ConcreteArray, defaultDevice, devices, makeJaxpr } from "../engine/index.js";
import { Tracer } from "../engine/core/trace.js";
import { chartBundle } from "./charts.js";
import { compareJaxprs, findVmapInfo } from "./jaxpr-compare.js";
import { jaxprHtml } from "./jaxpr-render.js";
import { report, runVmapbench, type VmapbenchOptions } from "./vmapbench.js";

export type TypecheckMode = "on" | "off" | "strict";

export interface MagicHost {
  display(value: unknown): void;
  /** Shows a MIME bundle as given. */
  displayBundle(bundle: Record<string, unknown>): void;
  print(text: string): void;
  setTypecheck(mode: TypecheckMode): void;
  /** The names the user's cells defined, their values, and clearing them. */
  userNames(): string[];
  valueOf(name: string): unknown;
  reset(): number;
  /** Asks the front end a yes/no question (throws when it does not accept input). */
  confirm(question: string): boolean;
}

/** What `%timeit -o` returns (IPython's TimeitResult fields). */
export class TimeitResult {
  constructor(
    readonly loops: number,
    readonly repeat: number,
    /** Seconds per loop of each run. */
    readonly all_runs: number[],
  ) {}
  get best(): number {
    return Math.min(...this.all_runs);
  }
  get worst(): number {
    return Math.max(...this.all_runs);
  }
  get average(): number {
    return this.all_runs.reduce((a, b) => a + b, 0) / this.all_runs.length;
  }
  /** Population standard deviation, as IPython's. */
  get stdev(): number {
    const m = this.average;
    return Math.sqrt(this.all_runs.reduce((a, b) => a + (b - m) ** 2, 0) / this.all_runs.length);
  }
  [inspect.custom](): string {
    return `<TimeitResult : ${this.toString()}>`;
  }

  toString(): string {
    return `${formatTime(this.average)} ± ${formatTime(this.stdev)} per loop (mean ± std. dev. of ${this.repeat} run${this.repeat !== 1 ? "s" : ""}, ${this.loops.toLocaleString("en-US")} loop${this.loops !== 1 ? "s" : ""} each)`;
  }
}

/** IPython's `_format_time`: 3 significant digits in s, ms, µs or ns. */
export function formatTime(seconds: number, precision = 3): string {
  if (seconds >= 60) {
    const parts: string[] = [];
    let left = seconds;
    for (const [suffix, length] of [
      ["d", 86400],
      ["h", 3600],
      ["min", 60],
      ["s", 1],
    ] as const) {
      const value = Math.floor(left / length);
      if (value > 0) {
        left %= length;
        parts.push(`${value}${suffix}`);
      }
      if (left < 1) break;
    }
    return parts.join(" ");
  }
  const units = ["s", "ms", "µs", "ns"];
  const order = seconds > 0 ? Math.min(-Math.floor(Math.floor(Math.log10(seconds)) / 3), 3) : 3;
  const scaled = seconds * 10 ** (3 * order);
  return `${String(Number(scaled.toPrecision(precision)))} ${units[order]}`;
}

const HELP: Record<string, string> = {
  lsmagic: "%lsmagic: list the available magics",
  jaxpr: "%jaxpr f(x): show the jaxpr of the call f(x), as makeJaxpr(f)(x) gives it",
  timeit:
    "%timeit [-n N] [-r R] [-p P] [-o] [-q] expr: time expr (device work included), as IPython's %timeit",
  time: "%time expr: CPU and wall time of one evaluation of expr; the value is the result",
  device: "%device [cpu|webgpu]: show the default device, or switch it",
  typecheck:
    "%typecheck on|off|strict: type errors as warnings (on), not at all (off), or as errors that stop the cell (strict)",
  vmapbench:
    "%vmapbench f xs [--batch 1,8,64,512,4096] [--hand g] [--device cpu|webgpu] [--repeat N]: throughput of a per-example loop, vmap(f), jit(vmap(f)) and a hand-batched g over batch sizes (table and chart)",
  env: "%env [NAME[=value]]: list the environment, get a variable, or set one (as IPython's %env)",
  who: "%who [type ...]: the names your cells defined, with types and array shapes/dtypes (IPython's %whos)",
  reset: "%reset [-f]: clear the names your cells defined (the engine's names stay); -f without asking",
  "%%timeit": "%%timeit [-n N] [-r R] [-o] [-q]: time the cell's body",
  "%%time": "%%time: CPU and wall time of the cell's body",
  "%%typecheck": "%%typecheck: type-check the cell's body without running it",
};

/** IPython's UsageError: bad arguments to a magic. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "UsageError";
  }
}

type Thunk = () => unknown;

async function settle(value: unknown): Promise<unknown> {
  const v = await value;
  await blockUntilReady(v);
  return v;
}

export class Magics {
  constructor(private readonly host: MagicHost) {}

  async run(name: string, args: string, thunk?: Thunk, source?: string): Promise<unknown> {
    if (args === "?" && !thunk) {
      const help = HELP[name];
      if (!help) throw usage(name);
      this.host.print(help + "\n");
      return undefined;
    }
    switch (name) {
      case "lsmagic":
        return this.lsmagic();
      case "jaxpr":
        return this.jaxpr(args, thunk, source);
      case "timeit":
      case "%%timeit":
        return this.timeit(args, thunk, name);
      case "time":
      case "%%time":
        return this.time(thunk, name);
      case "device":
        return this.device(args);
      case "typecheck":
        return this.typecheck(args);
      case "vmapbench":
        return this.vmapbench(args, thunk);
      case "env":
        return this.env(args);
      case "who":
      case "whos":
        return this.who(args);
      case "reset":
        return this.reset(args);
      case "%%typecheck":
        throw new UsageError("%%typecheck must be the first line of the cell");
      default:
        throw usage(name);
    }
  }

  private lsmagic(): undefined {
    const line = Object.keys(HELP).filter((k) => !k.startsWith("%%"));
    const cell = Object.keys(HELP).filter((k) => k.startsWith("%%"));
    this.host.print(
      `Available line magics:\n${line.map((k) => `%${k}`).join("  ")}\n\nAvailable cell magics:\n${cell.join("  ")}\n\n` +
        Object.values(HELP).join("\n") +
        "\n",
    );
    return undefined;
  }

  private async jaxpr(
    args: string,
    thunk: Thunk | undefined,
    source: string | undefined,
  ): Promise<undefined> {
    const flags = args.split(/\s+/).filter(Boolean);
    const unknown = flags.filter((f) => f !== "--compare");
    if (unknown.length) throw new UsageError(`%jaxpr: unknown option ${unknown.join(" ")} (only --compare)`);
    if (!thunk) throw new UsageError("%jaxpr needs a call expression, like %jaxpr vmap(f)(xs)");
    const [callee, callArgs, inner] = thunk() as [unknown, unknown[], Thunk | undefined];
    if (typeof callee !== "function")
      throw new TypeError(`%jaxpr ${source ?? ""}: the callee is not a function`);
    const fn = callee as (...a: unknown[]) => unknown;
    if (flags.includes("--compare")) {
      // jit(vmap(f)): look through the wrapper (its own marks, else the callee's first argument).
      const info = findVmapInfo(fn) ?? (inner ? findVmapInfo(inner()) : undefined);
      if (!info)
        throw new UsageError(
          `%jaxpr --compare needs a call of a vmapped function, like vmap(f)(xs) or jit(vmap(f))(xs); ${source ?? "this callee"} is not one`,
        );
      const { text, html } = compareJaxprs(fn, callArgs, calleeSource(source), info);
      this.host.displayBundle({ "text/plain": text, "text/html": html });
      return undefined;
    }
    const closed = makeJaxpr(fn)(...(callArgs as never[]));
    this.host.displayBundle({ "text/plain": closed.toString(), "text/html": jaxprHtml(closed) });
    return undefined;
  }

  private async vmapbench(args: string, thunk: Thunk | undefined): Promise<undefined> {
    const tokens = args.split(/\s+/).filter(Boolean);
    const positional = tokens.find((t) => t.startsWith("--positional="));
    if (positional || tokens.includes("--unbalanced") || !thunk)
      throw new UsageError(
        `%vmapbench needs a function and a batch of examples: %vmapbench f xs [--batch 1,8,64] [--hand g] [--device cpu|webgpu] [--repeat N]${positional ? ` (got ${positional.split("=")[1]} positional arguments; write expressions without spaces, or in parentheses)` : ""}`,
      );
    const opt = (flag: string): string | undefined => {
      const i = tokens.indexOf(flag);
      if (i < 0) return undefined;
      const v = tokens[i + 1];
      if (v === undefined || v.startsWith("--")) throw new UsageError(`%vmapbench: ${flag} needs a value`);
      return v;
    };
    const known = new Set(["--batch", "--device", "--repeat", "--hand"]);
    for (let i = 0; i < tokens.length; i++) {
      if (!known.has(tokens[i])) throw new UsageError(`%vmapbench: unknown option '${tokens[i]}'`);
      i++;
    }
    const batchText = opt("--batch") ?? "1,8,64,512,4096";
    const batches = batchText.split(",").map(Number);
    if (batches.some((b) => !Number.isInteger(b) || b < 1))
      throw new UsageError(
        `%vmapbench: --batch needs positive integers separated by commas, got '${batchText}'`,
      );
    const repeatText = opt("--repeat") ?? "3";
    const repeat = Number(repeatText);
    if (!Number.isInteger(repeat) || repeat < 1)
      throw new UsageError(`%vmapbench: --repeat needs a positive integer, got '${repeatText}'`);
    const device = opt("--device");
    if (device !== undefined && device !== "cpu" && device !== "webgpu")
      throw new UsageError(`%vmapbench: --device takes cpu or webgpu, got '${device}'`);
    if (opt("--hand") !== undefined) throw new UsageError("%vmapbench: --hand needs a function");

    const { f, xs, hand, names } = thunk() as {
      f: unknown;
      xs: unknown;
      hand: unknown;
      names: { f: string; hand: string | null };
    };
    if (typeof f !== "function") throw new UsageError(`%vmapbench: ${names.f} is not a function`);
    if (!(xs instanceof Tracer) || xs.ndim < 1)
      throw new UsageError("%vmapbench: xs must be an engine array with a batch axis (axis 0)");
    if (hand !== undefined && typeof hand !== "function")
      throw new UsageError(`%vmapbench: --hand ${names.hand ?? ""} is not a function`);
    const jit = (engine as unknown as Record<string, unknown>).jit;
    const options: VmapbenchOptions = {
      batches,
      repeat,
      fName: names.f,
      hand: hand as VmapbenchOptions["hand"],
      handName: names.hand ?? undefined,
      loopBudget: 0.1,
      jit: typeof jit === "function" ? (jit as VmapbenchOptions["jit"]) : undefined,
    };
    const previous = defaultDevice();
    let used = previous;
    if (device) {
      try {
        used = defaultDevice(device);
      } catch (e) {
        throw new UsageError(`%vmapbench --device ${device}: ${(e as Error).message}`);
      }
    }
    let rows;
    try {
      rows = await runVmapbench(f as (...a: unknown[]) => unknown, xs, options);
    } finally {
      defaultDevice(previous.id);
    }
    const notes = [
      `Times are per batch, best of ${repeat} run${repeat === 1 ? "" : "s"} after a warm-up; device work included (blockUntilReady).`,
    ];
    if (rows.some((r) => r.timed < r.batch))
      notes.push(
        "* the loop was timed on the first examples only (about 0.1 s per pass) and extrapolated to the whole batch.",
      );
    if (!options.jit) notes.push("jit is not available in this engine build: jit(vmap(f)) was left out.");
    const header = `%vmapbench ${names.f} on ${used.id}: examples of shape [${xs.shape.slice(1).join(", ")}] ${xs.dtype}`;
    const { text, html, spec } = report(rows, header, notes);
    this.host.displayBundle({ "text/plain": text, "text/html": html });
    this.host.displayBundle(await chartBundle(spec));
    return undefined;
  }

  private env(args: string): unknown {
    const a = args.trim();
    if (!a) return Object.fromEntries(Object.entries(process.env).sort(([x], [y]) => (x < y ? -1 : 1)));
    // IPython: `%env NAME=value` or `%env NAME value` sets, `%env NAME` gets.
    const set = a.match(/^([^=\s]+)\s*=\s*(.*)$/) ?? a.match(/^(\S+)\s+(.*)$/);
    if (set) {
      const [, name, value] = set;
      process.env[name] = value;
      this.host.print(`env: ${name}=${value}\n`);
      return undefined;
    }
    if (!(a in process.env)) throw new UsageError(`Environment does not have key: ${a}`);
    return process.env[a];
  }

  private async who(args: string): Promise<undefined> {
    const wanted = args.split(/\s+/).filter(Boolean);
    const rows: [string, string, string][] = [];
    for (const name of this.host.userNames()) {
      const value = this.host.valueOf(name);
      const [type, info] = describeValue(value);
      if (wanted.length && !wanted.includes(type)) continue;
      rows.push([name, type, info]);
    }
    if (!rows.length) {
      this.host.print(
        wanted.length ? "No variables match your requested type.\n" : "Interactive namespace is empty.\n",
      );
      return undefined;
    }
    const head: [string, string, string] = ["Variable", "Type", "Data/Info"];
    const w0 = Math.max(head[0].length, ...rows.map((r) => r[0].length)) + 3;
    const w1 = Math.max(head[1].length, ...rows.map((r) => r[1].length)) + 3;
    const line = (r: [string, string, string]) => `${r[0].padEnd(w0)}${r[1].padEnd(w1)}${r[2]}`;
    const body = rows.map(line);
    this.host.print(
      [
        line(head),
        "-".repeat(Math.max(w0 + w1 + head[2].length, ...body.map((b) => b.length))),
        ...body,
      ].join("\n") + "\n",
    );
    return undefined;
  }

  private reset(args: string): undefined {
    const flags = args.split(/\s+/).filter(Boolean);
    const bad = flags.filter((f) => f !== "-f");
    if (bad.length) throw new UsageError(`%reset: unknown option ${bad.join(" ")} (only -f)`);
    if (!flags.includes("-f")) {
      let ok: boolean;
      try {
        ok = this.host.confirm("Once deleted, variables cannot be recovered. Proceed (y/[n])? ");
      } catch {
        throw new UsageError("%reset needs a confirmation this front end cannot ask for: use %reset -f");
      }
      if (!ok) {
        this.host.print("Nothing done.\n");
        return undefined;
      }
    }
    this.host.reset();
    return undefined;
  }

  private async timeit(
    args: string,
    thunk: Thunk | undefined,
    name: string,
  ): Promise<TimeitResult | undefined> {
    if (!thunk) throw new TypeError(`${name} needs something to time, like %timeit f(x)`);
    const flags = args.split(/\s+/).filter(Boolean);
    const value = (flag: string) => {
      const i = flags.indexOf(flag);
      if (i < 0) return undefined;
      const v = Number(flags[i + 1]);
      if (!Number.isInteger(v) || v < 1)
        throw new TypeError(`${name}: ${flag} needs a positive integer, got '${flags[i + 1] ?? ""}'`);
      return v;
    };
    const repeat = value("-r") ?? 7;
    const precision = value("-p") ?? 3;
    const run = async (loops: number): Promise<number> => {
      const t0 = performance.now();
      for (let i = 0; i < loops; i++) await settle(thunk());
      return (performance.now() - t0) / 1000;
    };
    let loops = value("-n");
    if (loops === undefined) {
      // IPython's autorange: powers of ten until a run takes at least 0.2 s.
      for (let index = 0; index < 10; index++) {
        loops = 10 ** index;
        if ((await run(loops)) >= 0.2) break;
      }
    }
    const n = loops ?? 1;
    const runs: number[] = [];
    for (let r = 0; r < repeat; r++) runs.push((await run(n)) / n);
    const result = new TimeitResult(n, repeat, runs);
    if (!flags.includes("-q")) {
      const text = `${formatTime(result.average, precision)} ± ${formatTime(result.stdev, precision)} per loop (mean ± std. dev. of ${repeat} run${repeat !== 1 ? "s" : ""}, ${n.toLocaleString("en-US")} loop${n !== 1 ? "s" : ""} each)`;
      if (result.worst > 4 * result.best && result.worst > 1e-6) {
        this.host.print(
          `The slowest run took ${(result.worst / result.best).toFixed(2)} times longer than the fastest. This could mean that an intermediate result is being cached.\n`,
        );
      }
      this.host.print(text + "\n");
    }
    return flags.includes("-o") ? result : undefined;
  }

  private async time(thunk: Thunk | undefined, name: string): Promise<unknown> {
    if (!thunk) throw new TypeError(`${name} needs something to time, like %time f(x)`);
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    const value = await settle(thunk());
    const wall = (performance.now() - t0) / 1000;
    const cpu = process.cpuUsage(cpu0);
    const user = cpu.user / 1e6;
    const sys = cpu.system / 1e6;
    this.host.print(
      `CPU times: user ${formatTime(user)}, sys: ${formatTime(sys)}, total: ${formatTime(user + sys)}\nWall time: ${formatTime(wall)}\n`,
    );
    return value;
  }

  private device(args: string): undefined {
    const name = args.trim();
    if (name) defaultDevice(name);
    const d = defaultDevice();
    const info =
      "adapterDescription" in d
        ? ` (${String((d as { adapterDescription: string }).adapterDescription)})`
        : "";
    this.host.print(
      `default device: ${d.id}${info}; available: ${devices()
        .map((x) => x.id)
        .join(", ")}\n`,
    );
    return undefined;
  }

  private typecheck(args: string): undefined {
    const mode = args.trim();
    if (mode !== "on" && mode !== "off" && mode !== "strict") {
      throw new TypeError(`%typecheck takes on, off or strict, got '${mode}'`);
    }
    this.host.setTypecheck(mode);
    this.host.print(`type checking: ${mode}\n`);
    return undefined;
  }
}

/** The callee part of `%jaxpr` source (`vmap(f)` of `vmap(f)(xs)`), for titles. */
function calleeSource(source: string | undefined): string {
  if (!source) return "the batched function";
  return source;
}

/** IPython's %whos columns: a type name and a short description (shape and dtype for arrays). */
function describeValue(v: unknown): [string, string] {
  if (v instanceof ConcreteArray)
    return [
      "Array",
      `${v.dtype}[${v.shape.join(", ")}] on ${v.device.id}${v.isDisposed ? " (disposed)" : ""}`,
    ];
  if (v instanceof Tracer) return ["Tracer", `${v.dtype}[${v.shape.join(", ")}]`];
  if (typeof v === "function") {
    const text = Function.prototype.toString.call(v) as string;
    const isClass = /^class\b/.test(text);
    return [
      isClass ? "class" : "function",
      `${v.name || "<anonymous>"}${isClass ? "" : `(${v.length} argument${v.length === 1 ? "" : "s"})`}`,
    ];
  }
  if (v === null) return ["null", "null"];
  if (Array.isArray(v)) return ["array", `length ${v.length}`];
  if (typeof v === "object")
    return [
      (v as object).constructor?.name ?? "object",
      oneLine(inspect(v, { depth: 0, breakLength: Infinity })),
    ];
  return [typeof v, oneLine(inspect(v))];
}

function oneLine(s: string): string {
  const flat = s.replace(/\s+/g, " ");
  return flat.length > 60 ? flat.slice(0, 57) + "..." : flat;
}

function usage(name: string): Error {
  const e = new Error(
    `${name.startsWith("%%") ? "Cell" : "Line"} magic function \`${name.startsWith("%%") ? name : "%" + name}\` not found. %lsmagic lists the magics.`,
  );
  e.name = "UsageError";
  return e;
}
