import { clusterShare, criterionCodes, criterionName, meets } from "/static/js/lib/criteria.js";
import { clusterRadius, isCluster, pointStyle, shareClass } from "/static/js/lib/points.js";
import { assert, test } from "./runner.js";

const THEME = {
  share: ["s0", "s1", "s2", "s3"], clusterBorder: "cb",
  pointMatch: "pm", pointMatchBorder: "pmb", pointOther: "po", pointOtherBorder: "pob"
};

const CRITERIA = [{ code: "tanpa_jamban", name: "Tanpa jamban" }, { code: "ats_7_18", name: "ATS" }];

test("criteria from the server: codes in order, names by code", () => {
  assert.deepEqual(criterionCodes(CRITERIA), ["tanpa_jamban", "ats_7_18"]);
  assert.equal(criterionName(CRITERIA, "ats_7_18"), "ATS");
  assert.equal(criterionName(CRITERIA, "gone"), "");
  assert.deepEqual(criterionCodes([]), []);
});

test("a household meets a criterion when its point says so under the criterion's code", () => {
  assert.ok(meets({ tanpa_jamban: true }, "tanpa_jamban"));
  assert.ok(meets({ tanpa_jamban: 1 }, "tanpa_jamban"));
  assert.ok(!meets({ tanpa_jamban: false }, "tanpa_jamban"));
  assert.ok(!meets({ tanpa_jamban: true }, "ats_7_18"), "another criterion's flag does not count");
  assert.ok(!meets({}, "ats_7_18"), "a flag left out of the tile is no");
});

test("a cluster's share meeting the criterion, from its count under the code", () => {
  assert.equal(clusterShare({ count: 10, tanpa_jamban: 3 }, "tanpa_jamban"), 0.3);
  assert.equal(clusterShare({ count: 4, ats_7_18: 1 }, "ats_7_18"), 0.25);
  assert.equal(clusterShare({ count: 5 }, "desil_1_4"), 0, "a count left out is none");
  assert.equal(clusterShare({ count: 0, tanpa_jamban: 0 }, "tanpa_jamban"), 0);
});

test("share classes: < 10 %, 10-25 %, 25-50 %, 50 % and more", () => {
  assert.deepEqual([0, 0.099, 0.1, 0.249, 0.25, 0.5, 1].map(shareClass), [0, 0, 1, 1, 2, 3, 3]);
});

test("cluster radius grows with the count, between 2.5 and 7 px", () => {
  assert.equal(clusterRadius(0), 2.5);
  assert.equal(clusterRadius(10000), 7);
  assert.ok(clusterRadius(100) > clusterRadius(10));
});

test("styles: clusters by share, points by the criterion", () => {
  assert.ok(isCluster({ count: 3 }));
  assert.ok(!isCluster({ id: 7 }));
  const cluster = pointStyle({ count: 10, tanpa_jamban: 6 }, "tanpa_jamban", THEME);
  assert.equal(cluster.fillColor, "s3");
  assert.equal(cluster.color, "cb");
  const match = pointStyle({ id: 1, tanpa_jamban: true }, "tanpa_jamban", THEME);
  const other = pointStyle({ id: 2, tanpa_jamban: false }, "tanpa_jamban", THEME);
  assert.deepEqual([match.fillColor, match.color], ["pm", "pmb"]);
  assert.deepEqual([other.fillColor, other.color], ["po", "pob"]);
  assert.ok(match.radius > other.radius, "a household that meets it stands out");
});
