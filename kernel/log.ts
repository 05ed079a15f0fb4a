/** The kernel's own diagnostics go straight to fd 2 (the kernel log), never through captured stdout/stderr. */
import { writeSync } from "node:fs";

export function log(text: string): void {
  writeSync(2, `[vmaplab kernel] ${text}\n`);
}
