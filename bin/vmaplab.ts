#!/usr/bin/env node
/**
 * The `vmaplab` command:
 *   vmaplab kernel -f CONNECTION_FILE        run the Jupyter kernel (what the kernelspec starts)
 *   vmaplab run NOTEBOOK.ipynb [--output OUT.ipynb] [--html OUT.html] [--timeout S]
 *                                            execute a notebook headlessly, a progress line per cell
 *   vmaplab kernelspec DIR                   write the kernelspec (kernel.json) into DIR
 *   vmaplab install [--user|--sys-prefix|--prefix DIR] [--name N] [--display-name D]
 *   vmaplab uninstall [--name N]             (un)register the kernel with Jupyter
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

const USAGE = `usage:
  vmaplab kernel -f CONNECTION_FILE
  vmaplab run NOTEBOOK.ipynb [--output OUT.ipynb] [--html OUT.html] [--timeout SECONDS] [--kernel NAME]
  vmaplab kernelspec DIR [--display-name D]
  vmaplab install [--user | --sys-prefix | --prefix DIR] [--name N] [--display-name D]
  vmaplab uninstall [--name N]`;

/** Debian's Python with Jupyter (the first python3 on PATH may be another interpreter). */
export function jupyterPython(): string {
  return existsSync("/usr/bin/python3") ? "/usr/bin/python3" : "python3";
}

function fail(message: string): never {
  process.stderr.write(`vmaplab: ${message}\n`);
  process.exit(2);
}

function option(args: string[], name: string): string | undefined {
  const i = args.indexOf(name);
  if (i < 0) return undefined;
  const v = args[i + 1];
  if (v === undefined || v.startsWith("--")) fail(`${name} needs a value`);
  return v;
}

function writeKernelspec(dir: string, displayName = "TypeScript (vmaplab)"): void {
  const script = fileURLToPath(import.meta.url);
  mkdirSync(dir, { recursive: true });
  const spec = {
    argv: [process.execPath, script, "kernel", "-f", "{connection_file}"],
    display_name: displayName,
    language: "typescript",
    // Interrupts come as interrupt_request messages (they also work where signals do not: remote
    // kernels, Windows); a SIGINT stops a cell just as well.
    interrupt_mode: "message",
    // Dawn (the WebGPU executor) needs a runtime directory.
    env: {
      XDG_RUNTIME_DIR: process.env.XDG_RUNTIME_DIR ?? `/tmp/vmaplab-runtime-${process.getuid?.() ?? "user"}`,
    },
    metadata: { debugger: false, file_extension: ".ts" },
  };
  writeFileSync(path.join(dir, "kernel.json"), JSON.stringify(spec, null, 2) + "\n");
}

/** Runs `jupyter kernelspec ...` with Debian's Jupyter (or whatever `jupyter` is on PATH). */
function jupyterKernelspec(args: string[]): void {
  let result = spawnSync(jupyterPython(), ["-m", "jupyter", "kernelspec", ...args], { stdio: "inherit" });
  if (result.error || result.status !== 0)
    result = spawnSync("jupyter", ["kernelspec", ...args], { stdio: "inherit" });
  if (result.error) fail(`could not run Jupyter (${result.error.message}): is Jupyter installed?`);
  if (result.status !== 0) fail(`jupyter kernelspec ${args[0]} failed (exit code ${result.status})`);
}

function install(args: string[]): void {
  const name = option(args, "--name") ?? "vmaplab";
  const displayName = option(args, "--display-name") ?? "TypeScript (vmaplab)";
  const prefix = option(args, "--prefix");
  const where = prefix ? ["--prefix", prefix] : args.includes("--sys-prefix") ? ["--sys-prefix"] : ["--user"];
  const dir = path.join(mkdtempSync(path.join(tmpdir(), "vmaplab-spec-")), name);
  writeKernelspec(dir, displayName);
  try {
    jupyterKernelspec(["install", "--replace", "--name", name, ...where, dir]);
  } finally {
    rmSync(path.dirname(dir), { recursive: true, force: true });
  }
  process.stdout.write(`vmaplab: installed the Jupyter kernel '${name}' ("${displayName}")\n`);
}

function uninstall(args: string[]): void {
  const name = option(args, "--name") ?? "vmaplab";
  jupyterKernelspec(["uninstall", "-y", name]);
}

/** The nbclient driver shipped next to this file's source (bin/run_notebook.py). */
function runnerScript(): string {
  const here = path.dirname(fileURLToPath(import.meta.url));
  // Compiled: dist/bin/vmaplab.js -> ../../bin; run from source: bin/.
  for (const dir of [path.resolve(here, "../../bin"), here]) {
    const file = path.join(dir, "run_notebook.py");
    if (existsSync(file)) return file;
  }
  fail("bin/run_notebook.py is missing from this installation");
}

function runNotebook(args: string[]): void {
  const valued = new Set(["-o", "--output", "--html", "--timeout", "--kernel"]);
  const input = args.find((a, i) => !a.startsWith("-") && !valued.has(args[i - 1]));
  if (!input) fail(`run needs a notebook\n${USAGE}`);
  if (!existsSync(input)) fail(`no such notebook: ${input}`);
  const output = option(args, "--output") ?? option(args, "-o");
  const html = option(args, "--html");
  const timeout = option(args, "--timeout") ?? "600";
  const kernel = option(args, "--kernel");
  if (!(Number(timeout) > 0)) fail(`--timeout needs a positive number of seconds, not '${timeout}'`);
  // Without --output or --html, the executed copy goes next to the input (NAME.executed.ipynb).
  const out = output ?? (html ? undefined : input.replace(/\.ipynb$/, "") + ".executed.ipynb");
  const pyArgs = [
    runnerScript(),
    path.resolve(input),
    "--timeout",
    timeout,
    "--cwd",
    path.dirname(path.resolve(input)),
  ];
  if (out) pyArgs.push("--output", path.resolve(out));
  if (html) pyArgs.push("--html", path.resolve(html));
  if (kernel) pyArgs.push("--kernel", kernel);
  const result = spawnSync(jupyterPython(), pyArgs, { stdio: "inherit" });
  if (result.error) fail(`could not start Jupyter's Python: ${result.error.message} (run ./install.sh)`);
  process.exit(result.status ?? 2);
}

async function main(argv: string[]): Promise<void> {
  const [command, ...rest] = argv;
  switch (command) {
    case "kernel": {
      const fi = rest.indexOf("-f");
      const file = fi >= 0 ? rest[fi + 1] : undefined;
      if (!file) fail(`kernel needs -f CONNECTION_FILE\n${USAGE}`);
      const { runKernel } = await import("../kernel/index.js");
      await runKernel(file);
      return;
    }
    case "run":
      return runNotebook(rest);
    case "kernelspec":
      if (!rest[0]) fail(`kernelspec needs a directory\n${USAGE}`);
      return writeKernelspec(rest[0], option(rest, "--display-name"));
    case "install":
      return install(rest);
    case "uninstall":
      return uninstall(rest);
    case undefined:
    case "-h":
    case "--help":
      process.stdout.write(USAGE + "\n");
      return;
    default:
      fail(`unknown command '${command}'\n${USAGE}`);
  }
}

main(process.argv.slice(2)).catch((e: unknown) => fail((e as Error).stack ?? String(e)));
