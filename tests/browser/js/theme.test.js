import { COLOR_VARIABLES, LIST_VARIABLES, themeFrom, themeProblems } from "/static/js/lib/theme.js";
import { assert, test } from "./runner.js";

function complete() {
  const values = {};
  ["judged", "neutral"].forEach((family) => {
    [3, 4, 5].forEach((size) => {
      values[`--palette-${family}-${size}`] = Array.from({ length: size }, (_, i) => `#00000${i}`).join(" ");
    });
  });
  Object.values(COLOR_VARIABLES).forEach((name) => { values[name] = " #abcdef "; });
  Object.values(LIST_VARIABLES).forEach(([name, size]) => {
    values[name] = Array.from({ length: size }, () => "#fff").join(" ");
  });
  return values;
}

test("a theme from CSS variable values", () => {
  const theme = themeFrom((name) => complete()[name]);
  assert.deepEqual(themeProblems(theme), []);
  assert.equal(theme.suppressed, "#abcdef", "values are trimmed");
  assert.deepEqual(theme.palettes.judged[3], ["#000000", "#000001", "#000002"]);
  assert.equal(theme.share.length, 4);
});

test("a missing variable, a short list or a colour that is not #hex is reported", () => {
  const values = complete();
  delete values["--map-suppressed"];
  values["--palette-judged-4"] = "#111111 #222222 #333333";
  values["--chart-border"] = "grey";
  const problems = themeProblems(themeFrom((name) => values[name]));
  assert.equal(problems.length, 3, problems.join("; "));
  assert.ok(problems.some((p) => p.indexOf("--map-suppressed") === 0));
  assert.ok(problems.some((p) => p.indexOf("--palette-judged-4: 4 colours expected, 3 found") === 0));
  assert.ok(problems.some((p) => p.indexOf("--chart-border: grey") === 0));
});
