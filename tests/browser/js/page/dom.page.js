// Modules that need the page: the theme read from the real portal.css, the DOM builder.
import { h, readTheme } from "/static/js/dom.js";
import { themeProblems } from "/static/js/lib/theme.js";
import { assert, test } from "../runner.js";

test("portal.css defines every colour the scripts draw with", () => {
  const theme = readTheme();
  assert.deepEqual(themeProblems(theme), []);
  // The suppressed grey is the one the map test looks for.
  assert.equal(theme.suppressed, "#9aa1ab");
  assert.equal(theme.palettes.judged[5].length, 5);
});

test("h() puts text in as text, never as markup", () => {
  const node = h("td", { className: "num", text: "<b>1</b>", dataset: { code: "64" }, hidden: false, title: null },
    [h("span", { text: "x" }), null, "tail"]);
  assert.equal(node.querySelector("b"), null);
  assert.equal(node.firstChild.nodeValue, "<b>1</b>");
  assert.equal(node.className, "num");
  assert.equal(node.dataset.code, "64");
  assert.ok(!node.hasAttribute("hidden") && !node.hasAttribute("title"));
  assert.equal(node.textContent, "<b>1</b>xtail");
});
