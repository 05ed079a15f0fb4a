/**
 * jax.random semantics: Threefry-2x32 against Random123's known answers, JAX's published key values,
 * determinism across calls and devices, and loose-but-meaningful statistics with fixed keys.
 */
import assert from "node:assert/strict";
import { it } from "node:test";
import { defaultDevice, jnp, lax, makeJaxpr, random, ShapeDtypeStruct, type Array } from "../engine/index.js";
import { describeEachDevice } from "./helpers/devices.js";

const u32 = (xs: number[]) => jnp.array(new Uint32Array(xs));
const list = async (x: Array) => [...(await x.data())];

/** An independent Threefry-2x32-20 in BigInt arithmetic (Salmon et al. 2011, Random123). */
function threefryRef(key: [number, number], ctr: [number, number]): [number, number] {
  const M = (1n << 32n) - 1n;
  const rotl = (x: bigint, r: bigint) => ((x << r) | (x >> (32n - r))) & M;
  const k = [BigInt(key[0]), BigInt(key[1])];
  const ks = [k[0], k[1], k[0] ^ k[1] ^ 0x1bd11bdan];
  const R = [13n, 15n, 26n, 6n, 17n, 29n, 16n, 24n];
  let x0 = (BigInt(ctr[0]) + ks[0]) & M;
  let x1 = (BigInt(ctr[1]) + ks[1]) & M;
  for (let round = 0; round < 20; round++) {
    x0 = (x0 + x1) & M;
    x1 = rotl(x1, R[round % 8]) ^ x0;
    if (round % 4 === 3) {
      const s = BigInt(round + 1) / 4n;
      x0 = (x0 + ks[Number(s % 3n)]) & M;
      x1 = (x1 + ks[Number((s + 1n) % 3n)] + s) & M;
    }
  }
  return [Number(x0), Number(x1)];
}

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
const variance = (xs: number[]) => {
  const m = mean(xs);
  return xs.reduce((a, b) => a + (b - m) ** 2, 0) / xs.length;
};

const N = 4096;

describeEachDevice("random", (device) => {
  it("threefry2x32 reproduces Random123's known-answer vectors", async () => {
    // Random123 kat_vectors (threefry2x32, 20 rounds), also in JAX's testThreefry2x32.
    const [y0, y1] = lax.threefry2x32(
      u32([0, 0xffffffff, 0x13198a2e]),
      u32([0, 0xffffffff, 0x03707344]),
      u32([0, 0xffffffff, 0x243f6a88]),
      u32([0, 0xffffffff, 0x85a308d3]),
    );
    assert.deepEqual(await list(y0), [0x6b200159, 0x1cb996fc, 0xc4923a9c]);
    assert.deepEqual(await list(y1), [0x99ba4efe, 0xbb002be7, 0x483df7a0]);
    assert.equal(y0.dtype, "uint32");
  });

  it("threefry2x32 agrees with an independent implementation and broadcasts scalar keys", async () => {
    const x0 = [1, 2, 0xdeadbeef, 7];
    const x1 = [0, 99, 12345, 0xffffffff];
    const [y0, y1] = lax.threefry2x32(u32([42]).reshape([]), u32([7]).reshape([]), u32(x0), u32(x1));
    const expected = x0.map((c, i) => threefryRef([42, 7], [c, x1[i]]));
    assert.deepEqual(
      await list(y0),
      expected.map((e) => e[0]),
    );
    assert.deepEqual(
      await list(y1),
      expected.map((e) => e[1]),
    );
  });

  it("makes keys from seeds as JAX does with 32-bit integers", async () => {
    // JAX's test_prng_seeds_and_keys (jax_enable_x64=False).
    assert.deepEqual(await random.key(0).tolist(), [0, 0]);
    assert.deepEqual(await random.PRNGKey(1).tolist(), [0, 1]);
    assert.deepEqual(await random.key(-1).tolist(), [0, 4294967295]);
    assert.deepEqual(await random.key(2 ** 31 - 1 + 100).tolist(), [0, 2147483747]);
    assert.deepEqual(await random.key(-(2 ** 31) - 100).tolist(), [0, 2147483548]);
    assert.equal(random.key(3).dtype, "uint32");
    assert.deepEqual(await random.key(jnp.array([5], { dtype: "int32" }).reshape([])).tolist(), [0, 5]);
    assert.throws(() => random.key(1.5), /random\.key: the seed must be an integer, got 1\.5/);
  });

  it("foldIn and split give JAX's published key values", async () => {
    const key = random.key(0);
    // JAX's testPRNGValues: fold_in(PRNGKey(0), 4) (the same under both threefry modes).
    assert.deepEqual(await random.foldIn(key, 4).tolist(), [2285895361, 433833334]);
    // Partitionable split: key i is threefry(key, (0, i)); for key 0, words seen in a JAX export.
    const keys = random.split(key, 3);
    assert.deepEqual(keys.shape, [3, 2]);
    assert.deepEqual(await keys.tolist(), [
      [0x6b200159, 0x99ba4efe],
      [0x375f238f, 0xcddb151d],
      [0xf71f4ea9, 0xa20e4081],
    ]);
    // JAX's test_threefry_split_fold_in_symmetry.
    const k72 = random.key(72);
    const split3 = (await random.split(k72, 3).tolist()) as number[][];
    for (let i = 0; i < 3; i++) assert.deepEqual(await random.foldIn(k72, i).tolist(), split3[i]);
    assert.deepEqual(random.split(key).shape, [2, 2]);
    assert.deepEqual(random.split(key, [2, 3]).shape, [2, 3, 2]);
  });

  it("bits follow JAX's partitionable stream: bits1 ^ bits2 of threefry(key, (0, i))", async () => {
    // [0xf29a4fa7, 0xfa843692, 0x55110e28]: jax.random.bits(jax.random.key(0), (3,)) as reported
    // alongside a JAX StableHLO export; and an independent reference for a 2-D shape.
    assert.deepEqual(await list(random.bits(random.key(0), [3])), [0xf29a4fa7, 0xfa843692, 0x55110e28]);
    const b = random.bits(random.key(42), [2, 3]);
    assert.deepEqual(b.shape, [2, 3]);
    const expected = [0, 1, 2, 3, 4, 5].map((i) => {
      const [y0, y1] = threefryRef([0, 42], [0, i]);
      return (y0 ^ y1) >>> 0;
    });
    assert.deepEqual(await list(b), expected);
  });

  it("is deterministic: same key, same numbers; other keys, other numbers", async () => {
    const k = random.key(7);
    const a = await list(random.uniform(k, [8]));
    assert.deepEqual(await list(random.uniform(k, [8])), a);
    assert.notDeepEqual(await list(random.uniform(random.key(8), [8])), a);
    const [k1, k2] = [random.foldIn(k, 0), random.foldIn(k, 1)];
    const u1 = await list(random.uniform(k1, [8]));
    const u2 = await list(random.uniform(k2, [8]));
    assert.notDeepEqual(u1, u2);
    assert.notDeepEqual(u1, a);
  });

  it("uniform is 23 mantissa bits scaled to [minval, maxval)", async () => {
    const k = random.key(0);
    const words = await list(random.bits(k, [N]));
    const u = await list(random.uniform(k, [N]));
    // JAX: bitcast((bits >> 9) | 0x3f800000) - 1.0 == (bits >> 9) * 2^-23 exactly.
    assert.deepEqual(
      u,
      words.map((w) => (w >>> 9) * 2 ** -23),
    );
    assert.ok(u.every((x) => x >= 0 && x < 1));
    assert.ok(Math.abs(mean(u) - 0.5) < 0.02, `mean ${mean(u)}`);
    assert.ok(Math.abs(variance(u) - 1 / 12) < 0.01, `variance ${variance(u)}`);
    const v = await list(random.uniform(random.key(1), [N], { minval: -2, maxval: 3 }));
    assert.ok(v.every((x) => x >= -2 && x < 3));
    assert.ok(Math.abs(mean(v) - 0.5) < 0.1, `mean ${mean(v)}`);
    assert.equal(random.uniform(k).ndim, 0);
    assert.throws(
      () => random.uniform(k, [2], { dtype: "int32" }),
      /random\.uniform: dtype must be a float dtype/,
    );
  });

  it("normal has mean 0 and standard deviation 1", async () => {
    const z = await list(random.normal(random.key(3), [N]));
    assert.ok(z.every(Number.isFinite));
    assert.ok(Math.abs(mean(z)) < 0.07, `mean ${mean(z)}`);
    assert.ok(Math.abs(Math.sqrt(variance(z)) - 1) < 0.05, `std ${Math.sqrt(variance(z))}`);
    // About 68% within one standard deviation.
    const inside = z.filter((x) => Math.abs(x) < 1).length / N;
    assert.ok(Math.abs(inside - 0.6827) < 0.03, `fraction within 1 std ${inside}`);
  });

  it("erf_inv inverts erf", async () => {
    const x = jnp.array([-0.9, -0.5, 0, 0.3, 0.99]);
    const y = await list(lax.erfInv(x));
    // erf(erfinv(x)) = x, with erf from Abramowitz-Stegun 7.1.26 (|error| < 1.5e-7).
    const erf = (v: number) => {
      const t = 1 / (1 + 0.3275911 * Math.abs(v));
      const p =
        t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))));
      return Math.sign(v) * (1 - p * Math.exp(-v * v));
    };
    y.forEach((v, i) => assert.ok(Math.abs(erf(v) - [-0.9, -0.5, 0, 0.3, 0.99][i]) < 2e-6, `erf(${v})`));
    assert.deepEqual(await list(lax.erfInv(jnp.array([1, -1]))), [Infinity, -Infinity]);
  });

  it("bernoulli is true with probability p", async () => {
    const b = random.bernoulli(random.key(4), 0.3, [N]);
    assert.equal(b.dtype, "bool");
    const rate = (await list(b)).filter((v) => v === 1).length / N;
    assert.ok(Math.abs(rate - 0.3) < 0.03, `rate ${rate}`);
    // The shape defaults to p's.
    const per = random.bernoulli(random.key(5), jnp.array([0, 1]));
    assert.deepEqual(await per.tolist(), [false, true]);
  });

  it("categorical draws indices with frequencies softmax(logits)", async () => {
    const logits = [0, 1, 2];
    const z = logits.map(Math.exp).reduce((a, b) => a + b, 0);
    const probs = logits.map((l) => Math.exp(l) / z);
    const draws = random.categorical(random.key(6), jnp.array(logits), { shape: [N] });
    assert.equal(draws.dtype, "int32");
    const values = await list(draws);
    probs.forEach((p, c) => {
      const freq = values.filter((v) => v === c).length / N;
      assert.ok(Math.abs(freq - p) < 0.03, `class ${c}: frequency ${freq} vs ${p}`);
    });
    // A batch of distributions along axis 0: one draw per column; a certain class always wins.
    const batch = jnp.array([
      [0, -1e9],
      [-1e9, 0],
    ]);
    assert.deepEqual(await random.categorical(random.key(7), batch, { axis: 0 }).tolist(), [0, 1]);
  });

  it("permutation is a permutation, and moves whole rows", async () => {
    const p = await list(random.permutation(random.key(8), 10));
    assert.deepEqual(
      [...p].sort((a, b) => a - b),
      [0, 1, 2, 3, 4, 5, 6, 7, 8, 9],
    );
    assert.notDeepEqual(p, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    const x = jnp.array([
      [0, 1],
      [10, 11],
      [20, 21],
      [30, 31],
    ]);
    const rows = (await random.permutation(random.key(9), x).tolist()) as number[][];
    assert.deepEqual(
      rows.map((r) => r[1] - r[0]),
      [1, 1, 1, 1],
    );
    assert.deepEqual(
      rows.map((r) => r[0]).sort((a, b) => a - b),
      [0, 10, 20, 30],
    );
    // The same key permutes arange(n) and the rows of x the same way (JAX shuffles the indices).
    const idx = await list(random.permutation(random.key(9), 4));
    assert.deepEqual(
      rows.map((r) => r[0] / 10),
      idx,
    );
  });

  it("randint stays in [minval, maxval) and covers it", async () => {
    const r = random.randint(random.key(10), [N], -3, 5);
    assert.equal(r.dtype, "int32");
    const v = await list(r);
    assert.ok(v.every((x) => x >= -3 && x < 5));
    assert.deepEqual(
      [...new Set(v)].sort((a, b) => a - b),
      [-3, -2, -1, 0, 1, 2, 3, 4],
    );
    // maxval <= minval gives minval (jax#222).
    assert.deepEqual(await list(random.randint(random.key(11), [3], 4, 2)), [4, 4, 4]);
  });

  it("rejects bad keys and shapes with errors that say what is wrong", () => {
    assert.throws(
      () => random.split(jnp.array([1, 2])),
      /random\.split: expected a single PRNG key.*got float32\(2,\)/,
    );
    assert.throws(
      () => random.uniform(random.split(random.key(0)), [2]),
      /random\.uniform: expected a single PRNG key.*uint32\(2, 2\).*vmap/,
    );
    assert.throws(() => random.normal(random.key(0), [-1]), /random\.normal: invalid shape \(-1,\)/);
    assert.throws(
      () => random.bits(random.key(0), [2], { dtype: "int32" }),
      /random\.bits: dtype must be uint32/,
    );
  });

  it("prints random_bits and the uniform recipe in jaxprs", () => {
    // JAX prints random_wrap[impl=fry] before random_bits; our keys are the raw uint32 data.
    assert.equal(
      makeJaxpr((k: Array) => random.bits(k, [3]))(new ShapeDtypeStruct([2], "uint32")).toString(),
      `{ lambda ; a:u32[2]. let
    b:u32[3] = random_bits[bit_width=32 shape=(3,)] a
  in (b,) }`,
    );
    assert.equal(
      makeJaxpr((k: Array) => random.split(k, 4))(new ShapeDtypeStruct([2], "uint32")).toString(),
      `{ lambda ; a:u32[2]. let
    b:u32[4,2] = random_split[shape=(4,)] a
  in (b,) }`,
    );
  });

  if (device === "webgpu") {
    it("CPU and WebGPU give the same bits and uniforms, bit for bit", async () => {
      const run = async (name: "cpu" | "webgpu") => {
        defaultDevice(name);
        const k = random.foldIn(random.key(123), 5);
        return {
          keys: await list(random.split(k, 5)),
          bits: await list(random.bits(k, [N])),
          uniform: await list(random.uniform(k, [N], { minval: -1.5, maxval: 2.5 })),
          normal: await list(random.normal(k, [N])),
          perm: await list(random.permutation(k, 10)),
        };
      };
      try {
        const cpu = await run("cpu");
        const gpu = await run("webgpu");
        assert.deepEqual(gpu.keys, cpu.keys);
        assert.deepEqual(gpu.bits, cpu.bits);
        assert.deepEqual(gpu.uniform, cpu.uniform);
        assert.deepEqual(gpu.perm, cpu.perm);
        // erf_inv differs in the last bits (float32 on the device, doubles on the CPU).
        gpu.normal.forEach((v, i) => assert.ok(Math.abs(v - cpu.normal[i]) < 1e-5 * (1 + Math.abs(v))));
      } finally {
        defaultDevice("webgpu");
      }
    });
  }
});
