import { isJudged, palette, parseColors } from "/static/js/lib/palette.js";
import { assert, test } from "./runner.js";

const FAMILIES = {
  judged: { 3: ["j31", "j32", "j33"], 4: ["j41", "j42", "j43", "j44"], 5: ["j51", "j52", "j53", "j54", "j55"] },
  neutral: { 3: ["n31", "n32", "n33"], 4: ["n41", "n42", "n43", "n44"], 5: ["n51", "n52", "n53", "n54", "n55"] }
};

test("percent indicators judge, other units only count", () => {
  assert.ok(isJudged({ unit: "%" }));
  assert.ok(!isJudged({ unit: "orang" }));
});

test("as many colours as classes, at most five", () => {
  assert.deepEqual(palette({ unit: "%" }, 1, FAMILIES), ["j32"]);
  assert.deepEqual(palette({ unit: "%" }, 2, FAMILIES), ["j31", "j33"]);
  assert.deepEqual(palette({ unit: "%" }, 3, FAMILIES), ["j31", "j32", "j33"]);
  assert.deepEqual(palette({ unit: "%" }, 5, FAMILIES), FAMILIES.judged[5]);
  assert.deepEqual(palette({ unit: "%" }, 9, FAMILIES), FAMILIES.judged[5]);
  assert.deepEqual(palette({ unit: "jiwa" }, 4, FAMILIES), FAMILIES.neutral[4]);
});

test("darker is worse: when higher is better the low values get the dark end", () => {
  assert.deepEqual(palette({ unit: "%", higher_is_better: true }, 3, FAMILIES), ["j33", "j32", "j31"]);
  assert.deepEqual(FAMILIES.judged[3], ["j31", "j32", "j33"], "the family itself is left alone");
});

test("colour lists of CSS variables: spaces or commas between colours", () => {
  assert.deepEqual(parseColors(" #ffeda0 #feb24c,#f03b20 "), ["#ffeda0", "#feb24c", "#f03b20"]);
  assert.deepEqual(parseColors(""), []);
  assert.deepEqual(parseColors(undefined), []);
});
