import { choropleth, classOf, classify, isWorse, worseFirst } from "/static/js/lib/classify.js";
import { assert, test } from "./runner.js";

const THEME = {
  palettes: {
    judged: { 3: ["j31", "j32", "j33"], 4: ["j41", "j42", "j43", "j44"], 5: ["j51", "j52", "j53", "j54", "j55"] },
    neutral: { 3: ["n31", "n32", "n33"], 4: ["n41", "n42", "n43", "n44"], 5: ["n51", "n52", "n53", "n54", "n55"] }
  },
  suppressed: "grey", noData: "blank"
};
const PERCENT = { unit: "%", higher_is_better: false };

test("quantile classes: ten values in five classes of two", () => {
  assert.deepEqual(classify([10, 9, 8, 7, 6, 5, 4, 3, 2, 1], 5), { thresholds: [2, 4, 6, 8], count: 5 });
});

test("no values, no classes; fewer values than classes, one class each", () => {
  assert.deepEqual(classify([], 5), { thresholds: [], count: 0 });
  assert.deepEqual(classify([3, 1], 5), { thresholds: [1], count: 2 });
});

test("equal values share a class; the maximum is never a threshold", () => {
  assert.deepEqual(classify([0, 0, 0, 0, 5], 5), { thresholds: [0], count: 2 });
  assert.deepEqual(classify([4, 4, 4], 5), { thresholds: [], count: 1 });
});

test("values that are not numbers are left out of the classes", () => {
  assert.deepEqual(classify([1, null, NaN, undefined, "7", 2], 5), { thresholds: [1], count: 2 });
});

test("class i holds the values above threshold i-1 up to threshold i", () => {
  const classes = { thresholds: [2, 4], count: 3 };
  assert.deepEqual([1, 2, 2.5, 4, 4.1, 99].map((v) => classOf(classes, v)), [0, 0, 1, 1, 2, 2]);
});

test("worse first: high first when lower is better, low first when higher is better", () => {
  assert.deepEqual([1, 3, 2].sort(worseFirst({ higher_is_better: false })), [3, 2, 1]);
  assert.deepEqual([1, 3, 2].sort(worseFirst({ higher_is_better: true })), [1, 2, 3]);
  assert.ok(isWorse({ higher_is_better: false }, 5, 3));
  assert.ok(isWorse({ higher_is_better: true }, 3, 5));
  assert.ok(!isWorse({ higher_is_better: true }, 5, 3));
});

test("choropleth: classes over the rows with a value, suppressed and missing apart", () => {
  const rows = {
    a: { value: 1 }, b: { value: 2 }, c: { value: 3 }, d: { value: 4 },
    s: { suppressed: true, value: null }, n: { value: null }
  };
  const model = choropleth(PERCENT, rows, ["a", "b", "c", "d", "s", "n", "gone"], THEME);
  assert.equal(model.classes.count, 4);
  assert.deepEqual(model.colors, THEME.palettes.judged[4]);
  assert.equal(model.suppressed, 1);
  assert.equal(model.missing, 2, "a row without a value and an area without a row");
  assert.deepEqual(model.stats.map((s) => s.n), [1, 1, 1, 1]);
  assert.equal(model.colorOf(rows.a), "j41");
  assert.equal(model.colorOf(rows.d), "j44");
  assert.equal(model.colorOf(rows.s), "grey");
  assert.equal(model.colorOf(rows.n), "blank");
  assert.equal(model.colorOf(undefined), "blank");
  assert.ok(model.judged);
});

test("choropleth: only the listed areas count", () => {
  const rows = { a: { value: 1 }, b: { value: 2 }, z: { value: 1000 } };
  const model = choropleth({ unit: "jiwa" }, rows, ["a", "b"], THEME);
  assert.deepEqual(model.stats.map((s) => [s.min, s.max]), [[1, 1], [2, 2]]);
  assert.deepEqual(model.colors, ["n31", "n33"]);
  assert.ok(!model.judged);
});
