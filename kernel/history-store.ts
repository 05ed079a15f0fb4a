/**
 * Execution history kept across kernel restarts in a small JSON-lines file (one entry per executed
 * cell: session number, line number, source), answering history_request as ipykernel does.
 */
import { appendFileSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";

interface Entry {
  session: number;
  line: number;
  source: string;
}

export interface HistoryQuery {
  access: "tail" | "range" | "search";
  n?: number;
  session?: number;
  start?: number;
  stop?: number;
  pattern?: string;
  unique?: boolean;
}

const MAX_ENTRIES = 10_000;

/** fnmatch-style glob (`*`, `?`) as IPython's history search uses, matched against whole sources. */
function globToRegExp(pattern: string): RegExp {
  const escaped = pattern
    .replace(/[.+^${}()|[\]\\]/g, "\\$&")
    .replace(/\*/g, "[\\s\\S]*")
    .replace(/\?/g, "[\\s\\S]");
  return new RegExp(`^${escaped}$`);
}

export class HistoryStore {
  private entries: Entry[] = [];
  readonly session: number;

  constructor(private readonly file: string) {
    try {
      this.entries = readFileSync(file, "utf8")
        .split("\n")
        .filter(Boolean)
        .flatMap((l) => {
          try {
            return [JSON.parse(l) as Entry];
          } catch {
            return [];
          }
        });
    } catch {
      this.entries = [];
    }
    if (this.entries.length > MAX_ENTRIES) {
      this.entries = this.entries.slice(-MAX_ENTRIES);
      this.rewrite();
    }
    this.session = Math.max(0, ...this.entries.map((e) => e.session)) + 1;
  }

  add(line: number, source: string): void {
    const entry = { session: this.session, line, source };
    this.entries.push(entry);
    try {
      mkdirSync(path.dirname(this.file), { recursive: true });
      appendFileSync(this.file, JSON.stringify(entry) + "\n");
    } catch {
      // History is a convenience: a read-only home must not break execution.
    }
  }

  /** Triples `[session, line, source]`, as the history_reply content wants them. */
  query(q: HistoryQuery): [number, number, string][] {
    let found: Entry[];
    if (q.access === "range") {
      // session 0 (or absent) is this session; negative numbers count back from it.
      const s = !q.session ? this.session : q.session < 0 ? this.session + q.session : q.session;
      const start = q.start ?? 1;
      found = this.entries.filter(
        (e) => e.session === s && e.line >= start && (q.stop === undefined || e.line < q.stop),
      );
    } else {
      found = this.entries;
      if (q.access === "search") {
        const re = globToRegExp(q.pattern ?? "*");
        found = found.filter((e) => re.test(e.source));
      }
      if (q.unique) {
        const seen = new Set<string>();
        found = found
          .slice()
          .reverse()
          .filter((e) => (seen.has(e.source) ? false : (seen.add(e.source), true)))
          .reverse();
      }
      if (q.n !== undefined && q.n !== null) found = found.slice(-q.n);
    }
    return found.map((e) => [e.session, e.line, e.source]);
  }

  private rewrite(): void {
    try {
      writeFileSync(this.file, this.entries.map((e) => JSON.stringify(e)).join("\n") + "\n");
    } catch {
      // see add()
    }
  }
}
