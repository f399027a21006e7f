import { isCode, query, sameOriginPath } from "/static/js/lib/url.js";
import { assert, test } from "./runner.js";

test("area codes of every level, nothing else", () => {
  ["64", "64.09", "64.09.01", "64.09.01.1001"].forEach((code) => assert.ok(isCode(code), code));
  ["", "6", "64.9", "64.09.01.101", "64.09.01.1001.1", "64.09/../x", 64, null].forEach((code) =>
    assert.ok(!isCode(code), String(code)));
});

test("query strings leave out empty parameters and extend an existing query", () => {
  assert.equal(query("/api/x/", { a: "1", b: "", c: null, d: undefined, e: 0 }), "/api/x/?a=1&e=0");
  assert.equal(query("/api/x/?z=1", { a: "b c" }), "/api/x/?z=1&a=b+c");
  assert.equal(query("/api/x/", {}), "/api/x/");
});

test("links of another origin are not followed", () => {
  const here = "https://portal.example/desa/64.09.01.1001/";
  assert.equal(sameOriginPath("https://portal.example/api/v1/households/?cursor=abc", here), "/api/v1/households/?cursor=abc");
  assert.equal(sameOriginPath("/api/v1/households/?cursor=abc", here), "/api/v1/households/?cursor=abc");
  assert.equal(sameOriginPath("https://evil.example/api/", here), null);
});
