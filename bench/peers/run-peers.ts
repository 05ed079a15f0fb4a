/**
 * Times the six workloads on the peer libraries, each library and backend in a process of its own
 * (they bring up their own Dawn instances and worker pools), with a time limit per run.
 */
import { spawnSync } from "node:child_process";
import path from "node:path";
import type { WorkloadName } from "./workloads.js";

export type PeerName = "jax-js webgpu" | "jax-js wasm" | "TensorFlow.js webgpu" | "TensorFlow.js wasm";
export type PeerTimes = Partial<Record<WorkloadName, number>>;

const RUNNERS: Record<PeerName, [string, string]> = {
  "jax-js webgpu": ["jaxjs-runner.js", "webgpu"],
  "jax-js wasm": ["jaxjs-runner.js", "wasm"],
  "TensorFlow.js webgpu": ["tfjs-runner.js", "webgpu"],
  "TensorFlow.js wasm": ["tfjs-runner.js", "wasm"],
};

/** Median ms per workload for one peer; an empty record (and a message) when the peer fails. */
export function timePeer(peer: PeerName, workloads?: WorkloadName[]): PeerTimes {
  const [script, backend] = RUNNERS[peer];
  const args = [path.join(import.meta.dirname, script), backend];
  if (workloads) args.push(workloads.join(","));
  const r = spawnSync(process.execPath, args, { encoding: "utf8", timeout: 900_000 });
  const line = r.stdout
    ?.trim()
    .split("\n")
    .reverse()
    .find((l) => l.startsWith("{"));
  if (r.status !== 0 || !line) {
    console.error(`${peer} failed (${r.error?.message ?? `exit ${r.status}`}):\n${r.stderr?.slice(-2000)}`);
    return {};
  }
  return JSON.parse(line) as PeerTimes;
}

export const PEERS = Object.keys(RUNNERS) as PeerName[];
