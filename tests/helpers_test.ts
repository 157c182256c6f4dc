/**
 * The comparison helper every kernel test relies on: a failure anywhere is reported, whatever
 * the other elements hold (non-finite expected values included), and non-finite values only
 * match themselves.
 */
import { assert, assertClose } from "./helpers.ts";

const opts = { rtol: 1e-5, atol: 1e-6, label: "t" };

Deno.test("assertClose: a failure is not forgotten after a non-finite expected value", () => {
  for (const later of [Infinity, -Infinity, NaN]) {
    // Element 0 fails; element 1 expects a non-finite value and matches it exactly.
    assert.throws(() => assertClose([5, later], [1, later], opts), /element 0/, `then ${later}`);
    // ... and the same with the failure after it.
    assert.throws(() => assertClose([later, 5], [later, 1], opts), /element 1/, `${later} first`);
  }
  assert.throws(() => assertClose([5, 0, NaN], [1, 0, Infinity], opts), /element (0|2)/);
});

Deno.test("assertClose: non-finite values match only themselves", () => {
  assertClose([Infinity, -Infinity, NaN, 1], [Infinity, -Infinity, NaN, 1], opts);
  const bad: [number, number][] = [
    [NaN, 1],
    [Infinity, 1],
    [1, Infinity],
    [-Infinity, Infinity],
    [NaN, Infinity],
    [Infinity, NaN],
    [1, NaN],
  ];
  for (const [a, e] of bad) {
    assert.throws(() => assertClose([0, a], [0, e], opts), /element 1/, `${a} vs ${e}`);
  }
});

Deno.test("assertClose: within tolerance passes, and returns the max relative error", () => {
  const rel = assertClose([1 + 5e-6, 2], [1, 2], opts);
  assert.ok(rel > 2e-6 && rel < 3e-6, `max relative error ${rel}`);
  assert.throws(() => assertClose([1, 2], [1, 2, 3], opts), /length/);
});
