/**
 * The notebook's jaxpr rendering (kernel/jaxpr-render.ts) and the `%jaxpr --compare` view
 * (kernel/jaxpr-compare.ts), without a kernel: the text must be exactly the engine's (JAX's) format,
 * nested jaxprs included; the marks must say what batching changed.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ShapedArray } from "../engine/core/aval.js";
import { ClosedJaxpr, Jaxpr, JaxprEqn, Literal, Var } from "../engine/core/jaxpr.js";
import { Primitive, type AnyParams } from "../engine/core/primitive.js";
import { jnp, makeJaxpr, vmap, type Array as Arr } from "../engine/index.js";
import { compareJaxprs, findVmapInfo } from "../kernel/jaxpr-compare.js";
import { jaxprHtml, jaxprText } from "../kernel/jaxpr-render.js";

const f32 = (...shape: number[]) => new ShapedArray(shape, "float32");

/** A jaxpr whose equation holds nested jaxprs (as pjit/cond do), built by hand. */
function nestedJaxpr(): Jaxpr {
  const x = new Var(f32(3));
  const y = new Var(f32(3));
  const inner = new Jaxpr([], [x], [new JaxprEqn(Primitive.Sin, [x], {} as AnyParams, [y])], [y]);
  const empty = new Var(f32(3));
  const branches = [new ClosedJaxpr(new Jaxpr([], [empty], [], [empty]), []), new ClosedJaxpr(inner, [])];
  const a = new Var(f32(3));
  const b = new Var(f32(3));
  const c = new Var(f32(3));
  const params = { jaxpr: new ClosedJaxpr(inner, []), branches, name: "inner" } as unknown as AnyParams;
  return new Jaxpr(
    [],
    [a],
    [
      new JaxprEqn("custom_call" as Primitive, [a], params, [b]),
      new JaxprEqn(Primitive.Mul, [b, new Literal(2, f32())], {} as AnyParams, [c]),
    ],
    [c],
  );
}

describe("jaxpr rendering for the notebook", () => {
  const cases: [string, () => ClosedJaxpr | Jaxpr][] = [
    ["elementwise", () => makeJaxpr((x: Arr) => jnp.sin(x).mul(2))(jnp.ones([3]))],
    [
      "reduction and dot",
      () => makeJaxpr((x: Arr, w: Arr) => jnp.sum(jnp.dot(x, w), 0))(jnp.ones([2, 3]), jnp.ones([3, 4])),
    ],
    ["constants", () => makeJaxpr((x: Arr) => jnp.add(x, jnp.array([1, 2, 3])))(jnp.ones([3]))],
    ["no equations", () => makeJaxpr((x: Arr) => x)(jnp.ones([2]))],
    ["vmapped", () => makeJaxpr(vmap((x: Arr) => jnp.sum(x)))(jnp.ones([4, 3]))],
    ["nested jaxprs", nestedJaxpr],
  ];
  for (const [name, make] of cases) {
    it(`gives exactly the engine's text (${name})`, () => {
      const j = make();
      assert.equal(jaxprText(j), j.toString());
    });
  }

  it("prints nested jaxprs as JAX does, and makes them collapsible in HTML", () => {
    const j = nestedJaxpr();
    assert.equal(
      jaxprText(j),
      [
        "{ lambda ; a:f32[3]. let",
        "    b:f32[3] = custom_call[branches=({ lambda ; c:f32[3]. let  in (c,) }, { lambda ; d:f32[3]. let",
        "          e:f32[3] = sin d",
        "        in (e,) }) jaxpr={ lambda ; f:f32[3]. let",
        "          g:f32[3] = sin f",
        "        in (g,) } name=inner] a",
        "    h:f32[3] = mul b 2.0:f32[]",
        "  in (h,) }",
      ].join("\n"),
    );
    const html = jaxprHtml(j);
    assert.equal((html.match(/<details open/g) ?? []).length, 3);
    assert.match(html, /<summary[^>]*>jaxpr \(1 equation\)<\/summary>/);
    assert.match(html, /<summary[^>]*>jaxpr \(0 equations\)<\/summary>/);
    assert.doesNotMatch(html, /<script|class=/);
    assert.match(html, /<span style="color:#116329" title="literal">2\.0:f32\[\]<\/span>/);
  });
});

describe("%jaxpr --compare", () => {
  it("marks batched equations, equations batching added, and unbatched operands", () => {
    const f = (x: Arr, w: Arr) => jnp.add(x, w).mul(3);
    const vf = vmap(f, [0, null]);
    const info = findVmapInfo(vf);
    assert.ok(info);
    const { text, html } = compareJaxprs(
      vf as never,
      [jnp.ones([4, 3]), jnp.ones([3])],
      "vmap(f)(xs, w)",
      info,
    );
    const example =
      "{ lambda ; a:f32[3] b:f32[3]. let\n    c:f32[3] = add a b\n    d:f32[3] = mul c 3.0:f32[]\n  in (d,) }";
    assert.ok(text.includes(example), text);
    const batched = [
      "  { lambda ; a:f32[4,3] b:f32[3]. let",
      "+     c:f32[4,3] = broadcast_in_dim[broadcast_dimensions=(1,) shape=(4, 3)] b",
      "B     d:f32[4,3] = add a c",
      "B     e:f32[4,3] = mul d 3.0:f32[]",
      "    in (e,) }",
    ].join("\n");
    assert.ok(text.includes(batched), text);
    // Without the margin, the batched part is exactly the batched jaxpr.
    const plain = makeJaxpr(vf)(jnp.ones([4, 3]), jnp.ones([3])).toString();
    assert.equal(
      batched
        .split("\n")
        .map((l) => l.slice(2))
        .join("\n"),
      plain,
    );
    assert.match(
      text,
      /Operands that stayed unbatched.*\n {2}c = broadcast_in_dim b: b\n {2}e = mul d 3\.0:f32\[\]: 3\.0:f32\[\]$/,
    );
    assert.match(html, /title="f32\[3\] \(unbatched\)">b<\/span>/);
  });

  it("takes the mapped axis out per inAxes (axis 1 here) and finds vmap behind a wrapper", () => {
    const g = (x: Arr) => jnp.sum(x);
    const vg = vmap(g, 1);
    const wrapper = Object.assign((...a: unknown[]) => (vg as (...b: unknown[]) => unknown)(...a), {
      __wrapped__: vg,
    });
    const info = findVmapInfo(wrapper);
    assert.ok(info);
    const { text } = compareJaxprs(wrapper as never, [jnp.ones([3, 5])], "w(vmap(g, 1))(xs)", info);
    assert.match(
      text,
      /^g on one example \(args\[0\]: axis 1 of \[3,5\] removed, one example is \[3\]\)\n\{ lambda ; a:f32\[3\]\. let/,
    );
    assert.match(
      text,
      /\n\+ {5}b:f32\[5,3\] = transpose\[permutation=\(1, 0\)\] a\nB {5}c:f32\[5\] = reduce_sum/,
    );
    assert.equal(
      findVmapInfo((x: number) => x),
      undefined,
    );
  });
});
