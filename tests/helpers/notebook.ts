/** Reading .ipynb files (nbformat 4) in tests. */
import { readFileSync } from "node:fs";

export interface NotebookOutput {
  output_type: string;
  name?: string;
  text?: string | string[];
  data?: Record<string, string | string[]>;
  ename?: string;
  evalue?: string;
}

export interface NotebookCell {
  cell_type: string;
  source: string | string[];
  execution_count?: number | null;
  outputs?: NotebookOutput[];
}

export interface Notebook {
  cells: NotebookCell[];
  metadata: Record<string, unknown>;
}

export function readNotebook(file: string): Notebook {
  return JSON.parse(readFileSync(file, "utf8")) as Notebook;
}

/** nbformat stores multi-line strings either whole or as a list of lines. */
export function textOf(s: string | string[] | undefined): string {
  return Array.isArray(s) ? s.join("") : (s ?? "");
}

/** What a cell shows as text: streams, and the text/plain of results and displays, in order. */
export function shownText(cell: NotebookCell): string {
  return (cell.outputs ?? []).map((o) => textOf(o.text) + textOf(o.data?.["text/plain"])).join("");
}
