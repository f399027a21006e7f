import { CRITERIA, DEFAULT_CRITERION, clusterShare, isCriterion, meets } from "/static/js/lib/criteria.js";
import { clusterRadius, isCluster, pointStyle, shareClass } from "/static/js/lib/points.js";
import { assert, test } from "./runner.js";

const THEME = {
  share: ["s0", "s1", "s2", "s3"], clusterBorder: "cb",
  pointMatch: "pm", pointMatchBorder: "pmb", pointOther: "po", pointOtherBorder: "pob"
};

test("the criteria and the default one", () => {
  assert.deepEqual(CRITERIA, ["tanpa_jamban", "ats", "desil"]);
  assert.equal(DEFAULT_CRITERION, CRITERIA[0]);
  assert.ok(isCriterion("ats"));
  assert.ok(!isCriterion("babs"));
});

test("a household meets a criterion from its point's properties", () => {
  assert.ok(meets({ tanpa_jamban: true }, "tanpa_jamban"));
  assert.ok(meets({ tanpa_jamban: 1 }, "tanpa_jamban"));
  assert.ok(!meets({ tanpa_jamban: false }, "tanpa_jamban"));
  assert.ok(meets({ jumlah_ats: 2 }, "ats"));
  assert.ok(!meets({ jumlah_ats: 0 }, "ats"));
  assert.ok(meets({ desil_kesejahteraan: 4 }, "desil"));
  assert.ok(!meets({ desil_kesejahteraan: 5 }, "desil"));
  assert.ok(!meets({ desil_kesejahteraan: null }, "desil"), "no desil is not desil 1-4");
  assert.ok(meets({ tanpa_jamban: true }, "unknown"), "an unknown criterion is the default one");
});

test("a cluster's share meeting the criterion, from its counts", () => {
  assert.equal(clusterShare({ count: 10, tanpa_jamban: 3 }, "tanpa_jamban"), 0.3);
  assert.equal(clusterShare({ count: 4, ada_ats: 1 }, "ats"), 0.25);
  assert.equal(clusterShare({ count: 8, desil_1_4: 8 }, "desil"), 1);
  assert.equal(clusterShare({ count: 5 }, "desil"), 0, "a count left out is none");
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
