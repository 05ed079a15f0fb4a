/**
 * lax.associativeScan against sequential scans written in plain JS (forward, reverse, another axis,
 * a non-commutative combine, pytrees), and the exact derivatives of prod and cumprod where entries
 * are zero (hand-computed Jacobians; the old division-based rules gave NaN or wrong values there).
 */
import assert from "node:assert/strict";
import { it } from "node:test";
import { jacfwd, jacrev, jit, jnp, jvp, lax, makeJaxpr, vmap, type Array } from "../engine/index.js";
import { describeEachDevice } from "./helpers/devices.js";
import { assertAllClose } from "./helpers/allclose.js";

const Globals = globalThis;
type Nested = Parameters<typeof assertAllClose>[0];
const list = async (x: Array) => (await x.tolist()) as Nested;

/** Inclusive sequential scan as JAX defines it (reverse: scan the reversed list, reverse back). */
function sequentialScan<T>(xs: T[], fn: (a: T, b: T) => T, reverse = false): T[] {
  const input = reverse ? [...xs].reverse() : xs;
  const out: T[] = [];
  for (const x of input) out.push(out.length === 0 ? x : fn(out[out.length - 1], x));
  return reverse ? out.reverse() : out;
}

// Affine maps v -> a v + b composed left to right: (a1, b1) then (a2, b2) is (a1 a2, a2 b1 + b2).
type Affine = [number, number];
const compose = ([a1, b1]: Affine, [a2, b2]: Affine): Affine => [a1 * a2, a2 * b1 + b2];

describeEachDevice("lax.associativeScan", () => {
  it("equals a sequential sum for every length from 0 to 9, forward and reverse", async () => {
    for (let n = 0; n <= 9; n++) {
      const xs = [...new Globals.Array(n).keys()].map((i) => (i * 7) % 5);
      for (const reverse of [false, true]) {
        const got = lax.associativeScan(jnp.add, jnp.array(xs), { reverse });
        assert.deepEqual(
          await got.tolist(),
          sequentialScan(xs, (a, b) => a + b, reverse),
          `n=${n} reverse=${reverse}`,
        );
      }
    }
  });

  it("keeps the order of a non-commutative combine (affine maps as a pytree), forward and reverse", async () => {
    const maps: Affine[] = [
      [2, 1],
      [0.5, -1],
      [3, 0.25],
      [-1, 2],
      [1.5, 0.5],
      [0.25, -2],
      [2, 3],
    ];
    for (const reverse of [false, true]) {
      const [a, b] = lax.associativeScan(
        ([a1, b1]: [Array, Array], [a2, b2]: [Array, Array]): [Array, Array] => [
          jnp.multiply(a1, a2),
          jnp.add(jnp.multiply(a2, b1), b2),
        ],
        [jnp.array(maps.map((m) => m[0])), jnp.array(maps.map((m) => m[1]))] as [Array, Array],
        { reverse },
      );
      const want = sequentialScan(maps, compose, reverse);
      assertAllClose(
        await list(a),
        want.map((m) => m[0]),
        { rtol: 1e-6 },
      );
      assertAllClose(
        await list(b),
        want.map((m) => m[1]),
        { rtol: 1e-6 },
      );
    }
  });

  it("scans along another axis (negative too), and under jit and vmap", async () => {
    const rows = [
      [1, 2, 3, 4, 5],
      [5, 4, 3, 2, 1],
      [0, 1, 0, 1, 0],
    ];
    const want = rows.map((r) => sequentialScan(r, Math.max));
    const x = jnp.array(rows);
    assert.deepEqual(await lax.associativeScan(jnp.maximum, x, { axis: 1 }).tolist(), want);
    assert.deepEqual(await lax.associativeScan(jnp.maximum, x, { axis: -1 }).tolist(), want);
    const jitted = jit((v: Array) => lax.associativeScan(jnp.maximum, v, { axis: 1 }));
    assert.deepEqual(await jitted(x).tolist(), want);
    const perRow = vmap((r: Array) => lax.associativeScan(jnp.maximum, r));
    assert.deepEqual(await perRow(x).tolist(), want);
  });

  it("names the problem: mismatched lengths, an axis out of range, a combine that changes shapes", () => {
    assert.throws(
      () =>
        lax.associativeScan(
          (a: Array[], b: Array[]) => [jnp.add(a[0], b[0]), jnp.add(a[1], b[1])],
          [jnp.ones([3]), jnp.ones([4])],
        ),
      /same length along axis 0; leaf 0 has 3, leaf 1 has 4/,
    );
    assert.throws(
      () => lax.associativeScan(jnp.add, jnp.ones([3]), { axis: 2 }),
      /axis 2 is out of range.*shape \[3\]/,
    );
    assert.throws(
      () => lax.associativeScan((a: Array, b: Array) => jnp.sum(jnp.add(a, b)), jnp.ones([4])),
      /changed the shape of leaf 0/,
    );
  });
});

describeEachDevice("derivatives of prod and cumprod at zeros", () => {
  it("grad of prod: one zero leaves only its own entry; two zeros give all zeros", async () => {
    const g = (x: Array) => jnp.prod(x);
    assertAllClose(await list(jacrev(g)(jnp.array([2, 0, 3, 4]))), [0, 24, 0, 0]);
    assertAllClose(await list(jacfwd(g)(jnp.array([2, 0, 3, 4]))), [0, 24, 0, 0]);
    assertAllClose(await list(jacrev(g)(jnp.array([2, 0, 3, 0]))), [0, 0, 0, 0]);
    assertAllClose(await list(jacrev(g)(jnp.array([2, 5, 3, 4]))), [60, 24, 40, 30]);
  });

  it("prod over several axes and over one axis of a matrix with zeros", async () => {
    const m = [
      [2, 0, 3],
      [1, 4, 5],
    ];
    // Products of the other entries, by hand: all of m except one zero gives 120 at [0][1].
    assertAllClose(await list(jacrev((x: Array) => jnp.prod(x))(jnp.array(m))), [
      [0, 120, 0],
      [0, 0, 0],
    ]);
    // Row products [0, 20]: row 0's Jacobian is nonzero only at the zero, row 1's is the usual one.
    const rows = jacfwd((x: Array) => jnp.prod(x, { axis: 1 }))(jnp.array(m));
    assertAllClose(await list(rows), [
      [
        [0, 6, 0],
        [0, 0, 0],
      ],
      [
        [0, 0, 0],
        [20, 5, 4],
      ],
    ]);
  });

  it("cumprod and reverse cumprod: exact Jacobians with a zero entry, forward and reverse mode", async () => {
    const x = jnp.array([2, 0, 3]);
    const forward = [
      [1, 0, 0],
      [0, 2, 0],
      [0, 6, 0],
    ];
    const backward = [
      [0, 6, 0],
      [0, 3, 0],
      [0, 0, 1],
    ];
    const cum = (v: Array) => jnp.cumprod(v);
    const rcum = (v: Array) => lax.cumprod(v, { reverse: true });
    assertAllClose(await list(jacfwd(cum)(x)), forward);
    assertAllClose(await list(jacrev(cum)(x)), forward);
    assertAllClose(await list(jacfwd(rcum)(x)), backward);
    assertAllClose(await list(jacrev(rcum)(x)), backward);
    const [out, dout] = jvp(cum, [x], [jnp.array([1, 1, 1])]);
    assertAllClose(await list(out), [2, 0, 0]);
    assertAllClose(await list(dout), [1, 2, 6]);
  });

  it("the prod rule stays free of division in the jaxpr", () => {
    const text = makeJaxpr(jacrev((v: Array) => jnp.prod(v)))(jnp.array([1, 2, 3])).toString();
    assert.doesNotMatch(text, /\bdiv\b/);
    assert.match(text, /cumprod/);
  });
});
