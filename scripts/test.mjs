// Runs the compiled test suite with node's test runner (files under dist/tests/*.test.js).
import { spawnSync } from "node:child_process";
import { readdirSync } from "node:fs";
import path from "node:path";

const dir = path.resolve("dist/tests");
const files = readdirSync(dir)
  .filter((f) => f.endsWith(".test.js"))
  .sort()
  .map((f) => path.join(dir, f));
if (files.length === 0) {
  console.error("no test files found in dist/tests (did the build run?)");
  process.exit(1);
}
process.env.XDG_RUNTIME_DIR ??= `/tmp/vmaplab-runtime-${process.getuid?.() ?? "user"}`;
// The tests start the kernel by its name through Jupyter: register this checkout's kernel first on
// Jupyter's search path, so they never run another checkout's kernel registered for the user.
const jupyterDir = path.resolve("dist/.jupyter");
const spec = spawnSync(
  process.execPath,
  ["dist/bin/vmaplab.js", "kernelspec", path.join(jupyterDir, "kernels/vmaplab")],
  {
    stdio: ["ignore", "ignore", "inherit"],
  },
);
if (spec.status !== 0) {
  console.error("could not write the test kernelspec into dist/.jupyter");
  process.exit(1);
}
process.env.JUPYTER_PATH = [jupyterDir, process.env.JUPYTER_PATH].filter(Boolean).join(path.delimiter);
const args = ["--test", "--test-reporter=spec", ...process.argv.slice(2), ...files];
const r = spawnSync(process.execPath, args, { stdio: "inherit" });
process.exit(r.status ?? 1);
