/**
 * The language thread (a worker of the protocol thread): owns the TypeScript language service, so
 * type checks, completions and inspections never hold up the sockets or a cell's reply. Requests are
 * answered in arrival order; a cell remembered before a request is known to it.
 */
import { parentPort, workerData } from "node:worker_threads";
import { LanguageTools } from "./language-tools.js";
import { rewriteMagics } from "./magic-syntax.js";
import type { LanguageRequest, LanguageResponse, LanguageThreadData } from "./language-messages.js";

const data = workerData as LanguageThreadData;
const tools = new LanguageTools(data.engineTypes, data.scopeNames);
// Warm up: the first queries load the standard library's types and build the checker.
tools.complete("", 0);
tools.typeErrors("0");

function answer(m: LanguageRequest): LanguageResponse | undefined {
  switch (m.kind) {
    case "addCell":
      tools.addCell(rewriteMagics(m.code));
      return undefined;
    case "check":
      return { id: m.id, kind: "check", errors: tools.typeErrors(rewriteMagics(m.code)) };
    case "complete":
      return { id: m.id, kind: "complete", result: tools.complete(m.code, m.cursor) };
    case "inspect":
      return { id: m.id, kind: "inspect", text: tools.inspect(m.code, m.cursor, m.detailLevel) };
  }
}

parentPort!.on("message", (m: LanguageRequest) => {
  let reply: LanguageResponse | undefined;
  try {
    reply = answer(m);
  } catch (e) {
    if (m.kind === "addCell") return;
    reply = { id: m.id, kind: "failed", message: (e as Error).message };
  }
  if (reply) parentPort!.postMessage(reply);
});
parentPort!.postMessage({ id: 0, kind: "ready" } satisfies LanguageResponse);
