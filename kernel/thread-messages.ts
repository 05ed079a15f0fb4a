/**
 * Messages between the protocol thread (a worker that owns the ZeroMQ sockets, so heartbeats,
 * control requests and interrupts are answered while a cell keeps the main thread busy) and the
 * main thread (which runs cells, where the engine and the user's values live).
 */
import type { JsonObject } from "./wire.js";

/** A Jupyter request handed to the main thread; `id` is the request's msg_id. */
export interface RequestToMain {
  kind: "request";
  id: string;
  msgType: string;
  content: JsonObject;
  metadata: JsonObject;
}

export type ToMain =
  RequestToMain | { kind: "interrupt" } | { kind: "shutdown"; restart: boolean } | { kind: "closed" };

export type ToProtocol =
  /** An iopub message caused by request `parent` (or by the latest request when undefined). */
  | { kind: "publish"; parent?: string; msgType: string; content: JsonObject; metadata?: JsonObject }
  /** The shell reply to request `parent`. */
  | { kind: "reply"; parent: string; msgType: string; content: JsonObject }
  /** Request `parent` is finished; `failed` asks to abort queued executions (stop_on_error). */
  | { kind: "done"; parent: string; failed: boolean; succeededCode?: string }
  | { kind: "input_request"; prompt: string; password: boolean }
  | { kind: "interrupt_ack" }
  /** %typecheck: on (warnings), off, strict (type errors stop the cell). */
  | { kind: "typecheck"; mode: "on" | "off" | "strict" }
  /** Close the sockets: the process exits next. */
  | { kind: "close" };

/** Static facts the protocol thread answers kernel_info with. */
export interface KernelInfo {
  implementationVersion: string;
  languageVersion: string;
  banner: string;
}

export interface ProtocolThreadData {
  connectionFile: string;
  info: KernelInfo;
  /** Shared memory: int32 [stdin state, stdin reply length, SIGINT watched, unused], then the reply's UTF-8 bytes. */
  sharedBuffer: SharedArrayBuffer;
  /** Where the history store lives. */
  historyFile: string;
  /** The engine's type declarations, for completions and inspection. */
  engineTypes: string;
  /** Engine exports in every cell's scope (for the language service's declarations). */
  scopeNames: string[];
}

/** States of the stdin shared buffer's first int32. */
export const STDIN_WAITING = 0;
export const STDIN_REPLIED = 1;
export const STDIN_INTERRUPTED = 2;
export const STDIN_BYTES = 1 << 16;
export const SHARED_HEADER_BYTES = 16;
/** Index of the int32 that is 1 when the protocol thread watches SIGINT (and interrupts cells on it). */
export const SIGINT_WATCHED = 2;
