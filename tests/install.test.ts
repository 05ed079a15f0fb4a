/** install.sh: quiet and successful when everything is in place; names what to install elsewhere. */
import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, it } from "node:test";
import { run } from "./helpers/jupyter.js";

const root = path.resolve(import.meta.dirname, "../..");
const strip = (s: string) => s.replace(new RegExp(String.fromCharCode(27) + "\\[[0-9;]*m", "g"), "");

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
  });
});
