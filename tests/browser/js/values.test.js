import { compareBy } from "/static/js/lib/sort.js";
import { hasValue, indexRows, isSuppressed } from "/static/js/lib/values.js";
import { assert, test } from "./runner.js";

test("rows indexed by indicator and area, merged into what is there", () => {
  const index = indexRows([{ indicator: "a", area_code: "1", value: 1 }]);
  indexRows([{ indicator: "a", area_code: "2", value: 2 }, { indicator: "b", area_code: "1", value: 3 }], index);
  assert.deepEqual(Object.keys(index).sort(), ["a", "b"]);
  assert.equal(index.a["2"].value, 2);
  assert.equal(index.a["1"].value, 1);
});

test("a suppressed row or one without a number has no value", () => {
  assert.ok(hasValue({ value: 0 }));
  assert.ok(!hasValue({ value: 5, suppressed: true }));
  assert.ok(!hasValue({ value: null }));
  assert.ok(!hasValue({ value: NaN }));
  assert.ok(!hasValue(undefined));
  assert.ok(isSuppressed({ suppressed: true }));
  assert.ok(!isSuppressed(undefined));
});

test("sorting keeps empty values last in both directions", () => {
  const rows = [{ v: 2 }, { v: null }, { v: 1 }, {}, { v: 3 }];
  assert.deepEqual(rows.slice().sort(compareBy("v", 1)).map((r) => r.v), [1, 2, 3, null, undefined]);
  assert.deepEqual(rows.slice().sort(compareBy("v", -1)).map((r) => r.v), [3, 2, 1, null, undefined]);
  const names = [{ n: "Waru" }, { n: "Babulu" }, { n: "sepaku" }];
  assert.deepEqual(names.sort(compareBy("n", 1)).map((r) => r.n), ["Babulu", "sepaku", "Waru"]);
});
