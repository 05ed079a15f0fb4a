// `npm start`: serves Jupyter on 127.0.0.1 with notebooks/ open and the vmaplab kernel ready.
// JupyterLab when `jupyter lab` is installed, else Debian's classic notebook. Prints the URL.
//   npm start -- --port 8890
import { spawn, spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const python = existsSync("/usr/bin/python3") ? "/usr/bin/python3" : "python3";
const args = process.argv.slice(2);
const portIndex = args.indexOf("--port");
const port = portIndex >= 0 ? Number(args[portIndex + 1]) : Number(process.env.VMAPLAB_PORT ?? 8888);
const token = process.env.VMAPLAB_TOKEN ?? randomBytes(24).toString("hex");
const notebooks = path.join(root, "notebooks");

const has = (module) => spawnSync(python, ["-m", module, "--version"], { stdio: "ignore" }).status === 0;
if (!existsSync(path.join(root, "dist/bin/vmaplab.js"))) {
  console.error("vmaplab: not built yet: run ./install.sh first");
  process.exit(1);
}
const lab = has("jupyterlab");
if (!lab && !has("notebook")) {
  console.error("vmaplab: neither JupyterLab nor the classic notebook is installed: run ./install.sh first");
  process.exit(1);
}

const env = { ...process.env };
if (!env.XDG_RUNTIME_DIR) {
  env.XDG_RUNTIME_DIR = `/tmp/vmaplab-runtime-${process.getuid?.() ?? "user"}`;
  mkdirSync(env.XDG_RUNTIME_DIR, { recursive: true, mode: 0o700 });
}
const common = ["--no-browser", "--ip=127.0.0.1", `--port=${port}`, "--port-retries=0"];
// Jupyter refuses to run as root without this (containers and CI machines run as root).
if (process.getuid?.() === 0) common.push("--allow-root");
const command = lab
  ? ["-m", "jupyterlab", ...common, `--ServerApp.root_dir=${notebooks}`, `--IdentityProvider.token=${token}`]
  : ["-m", "notebook", ...common, `--notebook-dir=${notebooks}`, `--NotebookApp.token=${token}`];
const frontEnd = lab ? "JupyterLab" : "the classic Jupyter notebook";
const url = `http://127.0.0.1:${port}/${lab ? "lab" : "tree"}?token=${token}`;

const child = spawn(python, command, { env, stdio: ["ignore", "inherit", "pipe"] });
let announced = false;
child.stderr.on("data", (chunk) => {
  process.stderr.write(chunk);
  if (!announced && /is running at|Serving notebooks|Jupyter Server .* is running/.test(chunk.toString())) {
    announced = true;
    console.log(`\nvmaplab: ${frontEnd} is serving ${notebooks}`);
    console.log(`vmaplab: open ${url}`);
    console.log('vmaplab: pick the "TypeScript (vmaplab)" kernel; Ctrl-C stops the server.\n');
  }
});
for (const signal of ["SIGINT", "SIGTERM"]) process.on(signal, () => child.kill(signal));
child.on("exit", (code) => process.exit(code ?? 0));
