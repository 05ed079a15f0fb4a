/** install.sh: quiet and successful when everything is in place; names what to install elsewhere. */
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, it } from "node:test";
import { JUPYTER_PYTHON, run } from "./helpers/jupyter.js";

const root = path.resolve(import.meta.dirname, "../..");
const strip = (s: string) => s.replace(new RegExp(String.fromCharCode(27) + "\\[[0-9;]*m", "g"), "");

describe("vmaplab install / uninstall", () => {
  it("registers the kernelspec under a prefix with a name and display name, and removes it", async () => {
    const prefix = mkdtempSync(path.join(tmpdir(), "vmaplab-prefix-"));
    const bin = path.join(root, "dist/bin/vmaplab.js");
    const r = await run(process.execPath, [
      bin,
      "install",
      "--prefix",
      prefix,
      "--name",
      "vl-test",
      "--display-name",
      "VL test",
    ]);
    assert.equal(r.code, 0, r.stderr);
    const specFile = path.join(prefix, "share/jupyter/kernels/vl-test/kernel.json");
    const spec = JSON.parse(readFileSync(specFile, "utf8")) as Record<string, unknown>;
    assert.equal(spec.display_name, "VL test");
    assert.equal(spec.language, "typescript");
    assert.equal(spec.interrupt_mode, "message");
    assert.deepEqual((spec.argv as string[]).slice(-3), ["kernel", "-f", "{connection_file}"]);
    assert.ok((spec.env as Record<string, string>).XDG_RUNTIME_DIR);
    const env = { ...process.env, JUPYTER_PATH: path.join(prefix, "share/jupyter") };
    const listed = await run(JUPYTER_PYTHON, ["-m", "jupyter", "kernelspec", "list"], { env });
    assert.match(listed.stdout, /vl-test/);
    const un = await run(process.execPath, [bin, "uninstall", "--name", "vl-test"], { env });
    assert.equal(un.code, 0, un.stderr);
    assert.equal(existsSync(specFile), false);
  });
});

describe("install.sh", () => {
  it("is quiet on a re-run: everything is in place", async () => {
    const first = await run("bash", [path.join(root, "install.sh")], { cwd: root, timeoutMs: 300_000 });
    assert.equal(first.code, 0, first.stderr);
    const r = await run("bash", [path.join(root, "install.sh")], { cwd: root, timeoutMs: 120_000 });
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(strip(r.stdout).trim().split("\n"), ["[vmaplab install] ready."]);
  });

  it("skips apt on a machine that is not Debian and names what to install by hand", async () => {
    const fake = path.join(mkdtempSync(path.join(tmpdir(), "vmaplab-os-")), "os-release");
    writeFileSync(fake, 'ID=fedora\nVERSION_ID="41"\n');
    const env = { ...process.env, VMAPLAB_OS_RELEASE: fake };
    const r = await new Promise<{ code: number | null; out: string }>((resolve) => {
      import("node:child_process").then(({ spawn }) => {
        const child = spawn("bash", [path.join(root, "install.sh")], { cwd: root, env });
        let out = "";
        child.stdout.on("data", (d: Buffer) => (out += d.toString()));
        child.stderr.on("data", (d: Buffer) => (out += d.toString()));
        child.on("close", (code) => resolve({ code, out }));
      });
    });
    assert.equal(r.code, 0, r.out);
    assert.match(strip(r.out), /not a Debian system: skipping apt/);
    assert.match(strip(r.out), /Jupyter/);
    assert.match(strip(r.out), /Vulkan/);
    assert.match(strip(r.out), /Chromium/);
  });
});
