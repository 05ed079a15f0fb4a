/** Connection files, as jupyter_client writes them. */
import { readFileSync } from "node:fs";

export interface ConnectionInfo {
  transport: "tcp" | "ipc";
  ip: string;
  shell_port: number;
  control_port: number;
  iopub_port: number;
  stdin_port: number;
  hb_port: number;
  key: string;
  signature_scheme: string;
  kernel_name?: string;
}

export function readConnectionFile(path: string): ConnectionInfo {
  let info: ConnectionInfo;
  try {
    info = JSON.parse(readFileSync(path, "utf8")) as ConnectionInfo;
  } catch (e) {
    throw new Error(`cannot read the connection file ${path}: ${(e as Error).message}`, { cause: e });
  }
  for (const field of ["ip", "shell_port", "control_port", "iopub_port", "stdin_port", "hb_port"] as const) {
    if (info[field] === undefined) throw new Error(`connection file ${path} lacks '${field}'`);
  }
  info.transport ??= "tcp";
  info.key ??= "";
  info.signature_scheme ??= "hmac-sha256";
  if (info.signature_scheme !== "hmac-sha256") {
    throw new Error(
      `unsupported signature_scheme '${info.signature_scheme}' (vmaplab signs with hmac-sha256)`,
    );
  }
  return info;
}

/** The ZeroMQ endpoint of one channel (`tcp://ip:port`, or `ipc://ip-port` as jupyter_client names it). */
export function endpoint(info: ConnectionInfo, port: number): string {
  return info.transport === "ipc" ? `ipc://${info.ip}-${port}` : `tcp://${info.ip}:${port}`;
}
