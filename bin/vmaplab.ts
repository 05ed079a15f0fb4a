#!/usr/bin/env node
/**
 * The `vmaplab` command:
 *   vmaplab kernel -f CONNECTION_FILE        run the Jupyter kernel (what the kernelspec starts)
 *   vmaplab run NOTEBOOK.ipynb [-o OUT]      execute a notebook through the kernel, write the executed copy
 *   vmaplab kernelspec DIR                   write the kernelspec (kernel.json) into DIR
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const USAGE = `usage:
  vmaplab kernel -f CONNECTION_FILE
  vmaplab run NOTEBOOK.ipynb [-o OUTPUT.ipynb] [--timeout SECONDS]
  vmaplab kernelspec DIR`;

/** Debian's Python with Jupyter (the first python3 on PATH may be another interpreter). */
export function jupyterPython(): string {
  return existsSync("/usr/bin/python3") ? "/usr/bin/python3" : "python3";
}

function fail(message: string): never {
  process.stderr.write(`vmaplab: ${message}\n`);
  process.exit(2);
}

function writeKernelspec(dir: string): void {
  const script = fileURLToPath(import.meta.url);
  mkdirSync(dir, { recursive: true });
  const spec = {
    argv: [process.execPath, script, "kernel", "-f", "{connection_file}"],
    display_name: "TypeScript (vmaplab)",
    language: "typescript",
    interrupt_mode: "message",
    metadata: { debugger: false, file_extension: ".ts" },
  };
  writeFileSync(path.join(dir, "kernel.json"), JSON.stringify(spec, null, 2) + "\n");
}

function runNotebook(args: string[]): void {
  const input = args.find((a) => !a.startsWith("-"));
  if (!input) fail(`run needs a notebook\n${USAGE}`);
  if (!existsSync(input)) fail(`no such notebook: ${input}`);
  const oi = args.indexOf("-o");
  const output = oi >= 0 ? args[oi + 1] : input.replace(/\.ipynb$/, "") + ".executed.ipynb";
  const ti = args.indexOf("--timeout");
  const timeout = ti >= 0 ? args[ti + 1] : "600";
  const absOut = path.resolve(output);
  const result = spawnSync(
    jupyterPython(),
    [
      "-m",
      "nbconvert",
      "--to",
      "notebook",
      "--execute",
      `--ExecutePreprocessor.kernel_name=vmaplab`,
      `--ExecutePreprocessor.timeout=${timeout}`,
      "--output-dir",
      path.dirname(absOut),
      "--output",
      path.basename(absOut),
      input,
    ],
    { stdio: "inherit" },
  );
  if (result.error) fail(`could not start Jupyter's nbconvert: ${result.error.message} (run ./install.sh)`);
  if (result.status !== 0) fail(`executing ${input} failed (nbconvert exit code ${result.status})`);
  process.stdout.write(`vmaplab: executed ${input} -> ${absOut}\n`);
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
      return writeKernelspec(rest[0]);
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
