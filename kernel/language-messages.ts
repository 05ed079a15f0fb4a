/** Messages between the protocol thread and the language thread (language-thread.ts). */
import type { CompleteResult } from "./language-tools.js";

export interface LanguageThreadData {
  /** The engine's type declarations. */
  engineTypes: string;
  /** Engine exports in every cell's scope. */
  scopeNames: string[];
}

export type LanguageRequest =
  /** A cell that ran successfully (and declared names): later requests see it. */
  | { kind: "addCell"; code: string }
  | { kind: "check"; id: number; code: string }
  | { kind: "complete"; id: number; code: string; cursor: number }
  | { kind: "inspect"; id: number; code: string; cursor: number; detailLevel: number };

export type LanguageResponse =
  /** The language service is loaded and warmed up. */
  | { id: 0; kind: "ready" }
  | { id: number; kind: "check"; errors: string[] }
  | { id: number; kind: "complete"; result: CompleteResult }
  | { id: number; kind: "inspect"; text: string | undefined }
  | { id: number; kind: "failed"; message: string };
