/** Rich display of cell values as Jupyter mime bundles. Engine arrays are read back and printed as JAX does. */
import { inspect } from "node:util";
import { ConcreteArray, tree } from "../engine/index.js";

export type MimeBundle = Record<string, unknown>;

/** Objects that know how to show themselves (like IPython's `_repr_mimebundle_`). */
export interface Displayable {
  reprMimebundle(): MimeBundle | Promise<MimeBundle>;
}

function isDisplayable(x: unknown): x is Displayable {
  return typeof x === "object" && x !== null && typeof (x as Displayable).reprMimebundle === "function";
}

/** Reads back the values of every concrete array reachable in a (pytree-shaped) value. */
async function readArrays(value: unknown): Promise<void> {
  let leaves: unknown[];
  try {
    [leaves] = tree.flatten<unknown>(value);
  } catch {
    return; // not a pytree: inspect will show what it can
  }
  await Promise.all(
    leaves
      .filter((l): l is ConcreteArray => l instanceof ConcreteArray && !l.isDisposed)
      .map((a) => a.data()),
  );
}

export async function displayData(value: unknown): Promise<MimeBundle> {
  if (isDisplayable(value)) return await value.reprMimebundle();
  if (value instanceof ConcreteArray) return { "text/plain": await value.toStringAsync() };
  await readArrays(value);
  return { "text/plain": inspect(value, { depth: 4, colors: false, maxArrayLength: 100 }) };
}
