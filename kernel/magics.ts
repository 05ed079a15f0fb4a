/**
 * The magics (`%lsmagic`, `%jaxpr`, `%timeit`, `%time`, `%device`, `%typecheck`), run on the main
 * thread by the calls that magic-syntax.ts puts in place of magic lines. Output formats follow IPython.
 */
import { inspect } from "node:util";
import { blockUntilReady, defaultDevice, devices, makeJaxpr } from "../engine/index.js";

export type TypecheckMode = "on" | "off" | "strict";

export interface MagicHost {
  display(value: unknown): void;
  print(text: string): void;
  setTypecheck(mode: TypecheckMode): void;
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
  "%%timeit": "%%timeit [-n N] [-r R] [-o] [-q]: time the cell's body",
  "%%time": "%%time: CPU and wall time of the cell's body",
};

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
        return this.jaxpr(thunk, source);
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

  private async jaxpr(thunk: Thunk | undefined, source: string | undefined): Promise<undefined> {
    if (!thunk) throw new TypeError("%jaxpr needs a call expression, like %jaxpr vmap(f)(xs)");
    const [callee, args] = thunk() as [unknown, unknown[]];
    if (typeof callee !== "function")
      throw new TypeError(`%jaxpr ${source ?? ""}: the callee is not a function`);
    this.host.display(makeJaxpr(callee as (...a: unknown[]) => unknown)(...(args as never[])));
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

function usage(name: string): Error {
  const e = new Error(
    `${name.startsWith("%%") ? "Cell" : "Line"} magic function \`${name.startsWith("%%") ? name : "%" + name}\` not found. %lsmagic lists the magics.`,
  );
  e.name = "UsageError";
  return e;
}
