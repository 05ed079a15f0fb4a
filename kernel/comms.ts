/**
 * Jupyter comms: a registry of targets that TypeScript code in cells registers, and comm objects
 * that send and receive messages (comm_open / comm_msg / comm_close), as ipykernel's CommManager.
 */
import { randomUUID } from "node:crypto";
import type { JsonObject } from "./wire.js";

export type CommPublisher = (msgType: "comm_open" | "comm_msg" | "comm_close", content: JsonObject) => void;

export class Comm {
  private msgHandlers: ((data: JsonObject, msg: JsonObject) => void)[] = [];
  private closeHandlers: ((data: JsonObject) => void)[] = [];
  closed = false;

  constructor(
    readonly commId: string,
    readonly targetName: string,
    private readonly publish: CommPublisher,
  ) {}

  send(data: JsonObject = {}): void {
    if (this.closed) throw new Error(`comm ${this.commId} (${this.targetName}) is closed`);
    this.publish("comm_msg", { comm_id: this.commId, data });
  }

  close(data: JsonObject = {}): void {
    if (this.closed) return;
    this.closed = true;
    this.publish("comm_close", { comm_id: this.commId, data });
  }

  onMsg(handler: (data: JsonObject, msg: JsonObject) => void): void {
    this.msgHandlers.push(handler);
  }

  onClose(handler: (data: JsonObject) => void): void {
    this.closeHandlers.push(handler);
  }

  /** @internal a comm_msg from the front end */
  receive(content: JsonObject): void {
    for (const h of this.msgHandlers) h((content.data ?? {}) as JsonObject, content);
  }

  /** @internal the front end closed the comm */
  remoteClose(content: JsonObject): void {
    this.closed = true;
    for (const h of this.closeHandlers) h((content.data ?? {}) as JsonObject);
  }
}

export type CommTarget = (comm: Comm, openData: JsonObject) => void;

export class CommManager {
  private readonly targets = new Map<string, CommTarget>();
  private readonly comms = new Map<string, Comm>();

  constructor(private readonly publish: CommPublisher) {}

  /** Lets the front end open comms to `targetName`; `handler` gets each new comm. */
  registerTarget(targetName: string, handler: CommTarget): void {
    this.targets.set(targetName, handler);
  }

  unregisterTarget(targetName: string): void {
    this.targets.delete(targetName);
  }

  /** Opens a comm from the kernel side. */
  open(targetName: string, data: JsonObject = {}): Comm {
    const comm = new Comm(randomUUID(), targetName, this.publish);
    this.comms.set(comm.commId, comm);
    this.publish("comm_open", { comm_id: comm.commId, target_name: targetName, data });
    return comm;
  }

  /** @internal */
  handleOpen(content: JsonObject): void {
    const id = String(content.comm_id);
    const target = String(content.target_name);
    const handler = this.targets.get(target);
    const comm = new Comm(id, target, this.publish);
    if (!handler) {
      // ipykernel answers an unknown target by closing the comm.
      comm.close();
      return;
    }
    this.comms.set(id, comm);
    handler(comm, (content.data ?? {}) as JsonObject);
  }

  /** @internal */
  handleMsg(content: JsonObject): void {
    this.comms.get(String(content.comm_id))?.receive(content);
  }

  /** @internal */
  handleClose(content: JsonObject): void {
    const id = String(content.comm_id);
    this.comms.get(id)?.remoteClose(content);
    this.comms.delete(id);
  }

  info(targetName?: string): Record<string, { target_name: string }> {
    const out: Record<string, { target_name: string }> = {};
    for (const [id, c] of this.comms)
      if (!c.closed && (!targetName || c.targetName === targetName)) out[id] = { target_name: c.targetName };
    return out;
  }
}
