import { DASH, formatter, localeOf } from "/static/js/lib/format.js";
import { assert, test } from "./runner.js";

const PERCENT = { unit: "%", ratio: true };
const RATIO = { unit: "orang", ratio: true };
const COUNT = { unit: "rumah tangga", ratio: false };

test("Indonesian numbers: dot for thousands, comma for decimals", () => {
  const fmt = formatter("id");
  assert.equal(fmt.count(1234567), "1.234.567");
  assert.equal(fmt.value(PERCENT, 12.345), "12,3\u00a0%");
  assert.equal(fmt.value(RATIO, 3.846), "3,85");
  assert.equal(fmt.value(COUNT, 1234.4), "1.234");
  assert.equal(fmt.percent(7), "7,0\u00a0%");
  assert.equal(fmt.coord(-1.380671234), "-1,38067");
});

test("English numbers: comma for thousands, dot for decimals", () => {
  const fmt = formatter("en");
  assert.equal(fmt.count(1234567), "1,234,567");
  assert.equal(fmt.value(PERCENT, 12.345), "12.3\u00a0%");
  assert.equal(fmt.value(RATIO, 3.846), "3.85");
  assert.equal(fmt.coord(116.691211), "116.69121");
});

test("missing numbers are a dash, never 0 or NaN", () => {
  const fmt = formatter("id");
  [null, undefined, NaN, Infinity, "12"].forEach((value) => {
    assert.equal(fmt.count(value), DASH, String(value));
    assert.equal(fmt.value(PERCENT, value), DASH, String(value));
    assert.equal(fmt.percent(value), DASH, String(value));
  });
});

test("the locale follows the page language, Indonesian by default", () => {
  assert.equal(localeOf("en"), "en-GB");
  assert.equal(localeOf("en-us"), "en-GB");
  assert.equal(localeOf("id"), "id-ID");
  assert.equal(localeOf(undefined), "id-ID");
});
