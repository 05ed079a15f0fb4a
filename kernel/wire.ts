/**
 * Jupyter wire protocol (messaging spec 5.3): framing of messages on ZeroMQ and their HMAC-SHA256
 * signatures. Knows nothing about TypeScript or about what the messages mean.
 */
import { createHmac, randomUUID, timingSafeEqual } from "node:crypto";

export const PROTOCOL_VERSION = "5.3";
const DELIMITER = "<IDS|MSG>";

export interface Header {
  msg_id: string;
  session: string;
  username: string;
  date: string;
  msg_type: string;
  version: string;
}

export type JsonObject = { [key: string]: unknown };

export interface Message {
  identities: Buffer[];
  header: Header;
  parent_header: Partial<Header>;
  metadata: JsonObject;
  content: JsonObject;
  buffers: Buffer[];
}

export class InvalidSignatureError extends Error {}

export class Wire {
  constructor(
    private readonly key: string,
    readonly session = randomUUID(),
  ) {}

  sign(frames: readonly (Buffer | string)[]): string {
    if (!this.key) return "";
    const hmac = createHmac("sha256", this.key);
    for (const f of frames) hmac.update(f);
    return hmac.digest("hex");
  }

  /** Parses raw frames; throws InvalidSignatureError when the signature does not match. */
  parse(frames: Buffer[]): Message {
    const split = frames.findIndex((f) => f.toString() === DELIMITER);
    if (split < 0) throw new Error("malformed message: no <IDS|MSG> delimiter");
    const [signature, header, parent, metadata, content, ...buffers] = frames.slice(split + 1);
    if (content === undefined)
      throw new Error("malformed message: fewer than five frames after the delimiter");
    if (this.key) {
      const expected = Buffer.from(this.sign([header, parent, metadata, content]));
      const got = Buffer.from(signature.toString());
      if (expected.length !== got.length || !timingSafeEqual(expected, got)) {
        throw new InvalidSignatureError("invalid HMAC signature");
      }
    }
    return {
      identities: frames.slice(0, split),
      header: JSON.parse(header.toString()) as Header,
      parent_header: JSON.parse(parent.toString()) as Partial<Header>,
      metadata: JSON.parse(metadata.toString()) as JsonObject,
      content: JSON.parse(content.toString()) as JsonObject,
      buffers,
    };
  }

  /** A new message of `msgType` answering (or caused by) `parent`. */
  message(msgType: string, content: JsonObject, parent?: Message, metadata: JsonObject = {}): Message {
    return {
      identities: parent ? parent.identities : [],
      header: {
        msg_id: randomUUID(),
        session: this.session,
        username: parent?.header.username ?? "vmaplab",
        date: new Date().toISOString(),
        msg_type: msgType,
        version: PROTOCOL_VERSION,
      },
      parent_header: parent ? parent.header : {},
      metadata,
      content,
      buffers: [],
    };
  }

  serialize(msg: Message, identities: Buffer[] = msg.identities): Buffer[] {
    const parts = [msg.header, msg.parent_header, msg.metadata, msg.content].map((p) =>
      Buffer.from(JSON.stringify(p)),
    );
    return [...identities, Buffer.from(DELIMITER), Buffer.from(this.sign(parts)), ...parts, ...msg.buffers];
  }
}
