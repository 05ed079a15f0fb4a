/**
 * `import * as tslab from "tslab"` in a cell gets this module: tslab's display API
 * (`tslab.display.html/markdown/svg/png/jpeg/text/raw`, `tslab.newDisplay()`), rendered through
 * vmaplab's display channel, so notebooks written for tslab keep working.
 */
import { randomUUID } from "node:crypto";
import type { MimeBundle } from "./display.js";

type Send = (bundle: MimeBundle, displayId: string | undefined, update: boolean) => void;

export interface TslabDisplay {
  html(s: string): void;
  markdown(s: string): void;
  svg(s: string): void;
  png(b: Uint8Array): void;
  jpeg(b: Uint8Array): void;
  gif(b: Uint8Array): void;
  pdf(b: Uint8Array): void;
  text(s: string): void;
  raw(contentType: string, b: string | Uint8Array): void;
}

function makeDisplay(send: (bundle: MimeBundle) => void): TslabDisplay {
  const bytes = (type: string) => (b: Uint8Array) => send({ [type]: Buffer.from(b).toString("base64") });
  return {
    html: (s) => send({ "text/html": s }),
    markdown: (s) => send({ "text/markdown": s }),
    svg: (s) => send({ "image/svg+xml": s }),
    png: bytes("image/png"),
    jpeg: bytes("image/jpeg"),
    gif: bytes("image/gif"),
    pdf: bytes("application/pdf"),
    text: (s) => send({ "text/plain": s }),
    raw: (type, b) => send({ [type]: typeof b === "string" ? b : Buffer.from(b).toString("base64") }),
  };
}

export function tslabShim(send: Send): Record<string, unknown> {
  const display = makeDisplay((bundle) => send(bundle, undefined, false));
  return {
    display,
    /** A display that each call replaces in place (tslab's newDisplay). */
    newDisplay(): TslabDisplay {
      const id = randomUUID();
      let shown = false;
      return makeDisplay((bundle) => {
        send(bundle, id, shown);
        shown = true;
      });
    },
    versions: { tslab: "vmaplab-compatible", typescript: "", node: process.version },
  };
}
