/**
 * The tutorials in a real front-end: `npm start` (the README's main job: Debian's classic Notebook
 * server on 127.0.0.1 with notebooks/ open) with this checkout's kernel, a notebook opened in Debian's
 * Chromium driven by playwright-core, Cell > Run All, the outputs checked in the page's DOM, and a
 * screenshot saved under test-output/. Then JupyterLab's client library (@jupyterlab/services) runs
 * the same notebook's cells through the same server, and its text outputs must equal the browser's.
 */
import assert from "node:assert/strict";
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import { ContentsManager, ServerConnection, SessionManager, KernelManager } from "@jupyterlab/services";
import type { KernelMessage } from "@jupyterlab/services";
import { chromium, type Browser, type Page } from "playwright-core";
import WebSocket from "ws";
import { freePort } from "./helpers/jupyter.js";
import { textOf, type NotebookOutput } from "./helpers/notebook.js";

const root = path.resolve(import.meta.dirname, "../..");
const outputDir = path.join(root, "test-output");
const NOTEBOOK = "01-vmap-basics.ipynb";
const CHROMIUM = "/usr/bin/chromium";
const token = "vmaplab-browser-test";

let server: ChildProcess | undefined;
let serverLog = "";
let browser: Browser | undefined;
let page: Page;
let port: number;
let jupyterPath: string;
/** The text each code cell showed in the browser (streams and text/plain, in order). */
let browserTexts: string[] = [];
/** The same notebook run through @jupyterlab/services, started alongside the browser. */
let servicesRun: Promise<string[]> | undefined;

/** Rejects with `what` and the server's log when `promise` takes longer than `ms`. */
async function within<T>(ms: number, what: string, promise: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`timed out after ${ms / 1000} s: ${what}\n--- server log ---\n${serverLog}`)),
      ms,
    );
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

const textOfOutputs = (outputs: NotebookOutput[]) =>
  outputs.map((o) => textOf(o.text) + textOf(o.data?.["text/plain"])).join("");

describe("the tutorials in a browser (Chromium + the classic Notebook) and in @jupyterlab/services", () => {
  before(async () => {
    assert.ok(
      existsSync(CHROMIUM),
      `${CHROMIUM} is missing: run ./install.sh (it installs Debian's chromium)`,
    );
    // This checkout's kernel, first on Jupyter's search path, so the test does not depend on (or
    // touch) the user's installed kernelspec.
    jupyterPath = mkdtempSync(path.join(tmpdir(), "vmaplab-browser-jupyter-"));
    const spec = spawnSync(process.execPath, [
      path.join(root, "dist/bin/vmaplab.js"),
      "kernelspec",
      path.join(jupyterPath, "kernels/vmaplab"),
    ]);
    assert.equal(spec.status, 0, String(spec.stderr));

    port = await freePort();
    server = spawn(process.execPath, [path.join(root, "scripts/serve.mjs"), "--port", String(port)], {
      cwd: root,
      env: { ...process.env, VMAPLAB_TOKEN: token, JUPYTER_PATH: jupyterPath },
      stdio: ["ignore", "pipe", "pipe"],
      detached: true, // its own process group: the server and its kernels are stopped together
    });
    server.stderr!.on("data", (d: Buffer) => (serverLog += d.toString()));
    await within(
      30_000,
      "npm start (scripts/serve.mjs) did not announce its URL",
      new Promise<void>((resolve, reject) => {
        server!.stdout!.on("data", (d: Buffer) => {
          serverLog += d.toString();
          if (serverLog.includes("vmaplab: open")) resolve();
        });
        server!.on("exit", (code) => reject(new Error(`the server exited (${code}):\n${serverLog}`)));
      }),
    );
    servicesRun = runThroughServices();
    servicesRun.catch(() => {}); // reported by its own test
    browser = await within(
      20_000,
      "Chromium did not start",
      chromium.launch({
        executablePath: CHROMIUM,
        headless: true,
        args: ["--no-sandbox", "--disable-background-networking", "--disable-dev-shm-usage", "--disable-gpu"],
      }),
    );
    page = await browser.newPage({ viewport: { width: 1280, height: 1000 } });
  });

  after(async () => {
    await browser?.close().catch(() => {});
    if (server?.pid && server.exitCode === null) {
      try {
        process.kill(-server.pid, "SIGTERM");
      } catch {
        // already gone
      }
    }
    if (jupyterPath) rmSync(jupyterPath, { recursive: true, force: true });
  });

  it(`opens ${NOTEBOOK}, runs all cells on the vmaplab kernel, and shows the outputs`, async () => {
    await within(
      30_000,
      `the notebook page ${NOTEBOOK} did not load`,
      page.goto(`http://127.0.0.1:${port}/notebooks/${NOTEBOOK}?token=${token}`, {
        waitUntil: "domcontentloaded",
        timeout: 0,
      }),
    );
    // The notebook names the vmaplab kernel in its metadata; the page starts it. Wait for its
    // kernel_info reply, then check that the kernel picked is ours, as the menu shows it.
    await within(
      60_000,
      "the vmaplab kernel did not become ready in the page",
      page.waitForFunction(
        () => {
          const nb = (globalThis as unknown as Partial<InPage>).Jupyter?.notebook;
          return nb?.kernel?.is_connected() && nb.kernel.info_reply?.implementation !== undefined;
        },
        undefined,
        { timeout: 0, polling: 100 },
      ),
    );
    await page.evaluate(() => {
      const nb = (globalThis as unknown as InPage).Jupyter.notebook;
      nb.set_autosave_interval(0); // never write the run's outputs back into notebooks/
    });
    const picked = await page.evaluate(() => {
      const nb = (globalThis as unknown as InPage).Jupyter.notebook;
      return [nb.kernel.name, nb.kernel.info_reply.implementation];
    });
    assert.deepEqual(picked, ["vmaplab", "vmaplab"]);
    assert.equal((await page.locator(".kernel_indicator_name").innerText()).trim(), "TypeScript (vmaplab)");

    // Clear the saved outputs, then Cell > Run All, through the menus a user would click.
    const codeCells = await page.evaluate(() => {
      const J = (globalThis as unknown as InPage).Jupyter;
      J.notebook.clear_all_output();
      const w = globalThis as unknown as InPage;
      w.__finished = 0;
      J.notebook.events.on("finished_execute.CodeCell", () => void w.__finished++);
      return J.notebook.get_cells().filter((c) => c.cell_type === "code").length;
    });
    assert.equal(await page.locator(".output_area").count(), 0, "the saved outputs were cleared");
    await page.click("#celllink");
    await page.click("#run_all_cells > a");
    await within(
      90_000,
      `Run All did not finish all ${codeCells} code cells`,
      page.waitForFunction((n) => (globalThis as unknown as InPage).__finished >= n, codeCells, {
        timeout: 0,
        polling: 100,
      }),
    );

    // The DOM: no error output, every code cell has a numbered prompt, and the known values.
    assert.equal(
      await page.locator(".output_error").count(),
      0,
      await page.locator(".output_error").allInnerTexts().then(String),
    );
    const prompts = await page.locator(".code_cell .input_prompt").allInnerTexts();
    assert.deepEqual(
      prompts.map((p) => p.replace(/\s+/g, " ").trim()),
      Array.from({ length: codeCells }, (_, i) => `In [${i + 1}]:`),
    );
    // Arrays render as HTML tables (the kernel's text/html), e.g. the pairwise distance matrix.
    const tables = page.locator("table.vmaplab-array");
    assert.ok((await tables.count()) >= 6, `array tables: ${await tables.count()}`);
    const distances = tables.filter({ hasText: "float32[4, 4]" });
    assert.equal(await distances.count(), 1);
    assert.match(await distances.innerText(), /3\.316624879837036/); // |[1,2,3] - [0,1,0]| = √11
    const text = await page.locator("#notebook-container").innerText();
    assert.match(text, /\{ vmapVsLoop: 0, vmapVsManual: 0 \}/);
    assert.match(text, /d:f32\[2,4\] = dot_general\[dimension_numbers=\(\(\[1\], \[1\]\), \(\[\], \[\]\)\)/);
    assert.match(text, /reduce_sum\[axes=\(2,\)\]/);

    browserTexts = await page.evaluate(() =>
      (globalThis as unknown as InPage).Jupyter.notebook
        .get_cells()
        .filter((c) => c.cell_type === "code")
        .map((c) => JSON.stringify(c.output_area.outputs)),
    );
    browserTexts = browserTexts.map((json) => textOfOutputs(JSON.parse(json) as NotebookOutput[]));

    mkdirSync(outputDir, { recursive: true });
    // The top of the notebook as a reader first sees it, then the whole page.
    await page.evaluate(() =>
      (globalThis as unknown as InPage).document.querySelector("#site")?.scrollTo(0, 0),
    );
    await page.screenshot({ path: path.join(outputDir, "01-vmap-basics-top.png") });
    await page.evaluate(() => {
      // The classic notebook scrolls inside #site: let the page grow for a full-page screenshot.
      const { document } = globalThis as unknown as InPage;
      const site = document.querySelector("#site");
      if (site) Object.assign(site.style, { height: "auto", overflow: "visible" });
      document.body.style.overflow = "visible";
    });
    await page.screenshot({ path: path.join(outputDir, "01-vmap-basics-full.png"), fullPage: true });
    await page.close();
  });

  it("@jupyterlab/services runs the same notebook's cells and sees the same text outputs", async (t) => {
    if (browserTexts.length === 0) return t.skip("the browser run failed");
    const texts = await within(90_000, "the @jupyterlab/services run of the notebook", servicesRun!);
    assert.deepEqual(texts, browserTexts);
  });
});

/**
 * Runs the notebook's code cells one by one in a new session through the server with JupyterLab's
 * client library, and returns the text each cell showed. It runs while the browser does (its own
 * session path, so its own kernel), which keeps the test short.
 */
async function runThroughServices(): Promise<string[]> {
  const serverSettings = ServerConnection.makeSettings({
    baseUrl: `http://127.0.0.1:${port}/`,
    wsUrl: `ws://127.0.0.1:${port}/`,
    token,
    WebSocket: WebSocket as unknown as typeof globalThis.WebSocket,
  });
  const model = await new ContentsManager({ serverSettings }).get(NOTEBOOK, { content: true });
  const cells = (model.content as { cells: { cell_type: string; source: string | string[] }[] }).cells
    .filter((c) => c.cell_type === "code")
    .map((c) => textOf(c.source));
  const kernelManager = new KernelManager({ serverSettings });
  const sessions = new SessionManager({ serverSettings, kernelManager });
  // The server keys sessions by path: a path of its own (in notebooks/, the kernel's working directory).
  const sessionPath = NOTEBOOK.replace(/\.ipynb$/, ".services.ipynb");
  const session = await within(
    30_000,
    "starting a session through the server with @jupyterlab/services",
    sessions.startNew({
      path: sessionPath,
      type: "notebook",
      name: sessionPath,
      kernel: { name: "vmaplab" },
    }),
  );
  try {
    const kernel = session.kernel!;
    assert.equal(kernel.name, "vmaplab");
    const texts: string[] = [];
    for (const [i, code] of cells.entries()) {
      const outputs: NotebookOutput[] = [];
      const future = kernel.requestExecute({ code, stop_on_error: true });
      future.onIOPub = (msg: KernelMessage.IIOPubMessage) => {
        const c = msg.content as { name?: string; text?: string; data?: Record<string, string> };
        if (["stream", "execute_result", "display_data", "error"].includes(msg.header.msg_type))
          outputs.push({ output_type: msg.header.msg_type, name: c.name, text: c.text, data: c.data });
      };
      const reply = await within(60_000, `cell ${i + 1} through @jupyterlab/services`, future.done);
      assert.equal(reply.content.status, "ok", `cell ${i + 1}: ${JSON.stringify(reply.content)}`);
      texts.push(textOfOutputs(outputs));
    }
    return texts;
  } finally {
    await session.shutdown().catch(() => {});
    sessions.dispose();
    kernelManager.dispose();
  }
}

/** What the test uses in the page (the tests compile without the DOM's types). */
interface PageElement {
  style: Record<string, string>;
  scrollTo(x: number, y: number): void;
}
interface InPage {
  Jupyter: JupyterPage;
  __finished: number;
  document: { querySelector(selector: string): PageElement | null; body: PageElement };
}

/** The part of the classic Notebook's page API (window.Jupyter) the test uses. */
interface JupyterPage {
  notebook: {
    kernel: { name: string; is_connected(): boolean; info_reply: { implementation?: string } };
    events: { on(event: string, handler: () => void): void };
    get_cells(): { cell_type: string; output_area: { outputs: unknown[] } }[];
    clear_all_output(): void;
    set_autosave_interval(ms: number): void;
  };
}
