import {
  homeSearch, mergeHomeState, mergeVillageState, readHomeState, readVillageState, villageSearch
} from "/static/js/lib/state.js";
import { assert, test } from "./runner.js";

const HOME = {
  kabupaten: "64.09",
  indicators: { tanpa_jamban: {}, babs: {} },
  kecamatan: { "64.09.01": {}, "64.09.02": {} },
  defaultIndicator: "tanpa_jamban",
  householdsAllowed: true,
  criteria: ["tanpa_jamban", "ats_7_18", "desil_1_4"],
  basemapConfigurable: true,
  coverage: ["tanpa_jamban"],
  approvedAllowed: true
};
const DEFAULT_HOME = {
  indicator: "tanpa_jamban", area: "64.09", level: "desa", layer: "", criterion: "tanpa_jamban", basemap: "1",
  coverage: "",
  approved: ""
};

test("home: an empty or unknown query is the default view", () => {
  assert.deepEqual(readHomeState("", HOME), DEFAULT_HOME);
  assert.deepEqual(
    readHomeState("?indicator=nope&area=99.99&level=x&layer=y&criterion=z&basemap=2", HOME), DEFAULT_HOME
  );
});

test("home: a kecamatan shows its villages, whatever level is asked", () => {
  const state = readHomeState("?area=64.09.01&level=kecamatan", HOME);
  assert.equal(state.area, "64.09.01");
  assert.equal(state.level, "desa");
  assert.equal(readHomeState("?level=kecamatan", HOME).level, "kecamatan");
  assert.equal(mergeHomeState(readHomeState("?level=kecamatan", HOME), { area: "64.09.02" }, HOME).level, "desa");
});

test("home: the household layer only for those allowed to see it", () => {
  assert.equal(readHomeState("?layer=households", HOME).layer, "households");
  assert.equal(readHomeState("?layer=households", Object.assign({}, HOME, { householdsAllowed: false })).layer, "");
});

test("home: the query written reads back as the same view", () => {
  [
    DEFAULT_HOME,
    Object.assign({}, DEFAULT_HOME, { indicator: "babs", level: "kecamatan" }),
    Object.assign({}, DEFAULT_HOME, { area: "64.09.02", layer: "households", criterion: "desil_1_4", basemap: "0" })
  ].forEach((state) => assert.deepEqual(readHomeState(homeSearch(state, HOME), HOME), state));
  assert.equal(homeSearch(DEFAULT_HOME, HOME), "?indicator=tanpa_jamban&level=desa");
});

test("home: approved villages only stays in the URL, for the roles that may ask it", () => {
  const on = readHomeState("?indicator=babs&disetujui=1&area=64.09.01", HOME);
  assert.equal(on.approved, "1");
  assert.equal(homeSearch(on, HOME), "?indicator=babs&level=desa&area=64.09.01&disetujui=1");
  assert.equal(mergeHomeState(on, { area: "64.09" }, HOME).approved, "1");
  assert.equal(mergeHomeState(on, { approved: "" }, HOME).approved, "");
  assert.equal(readHomeState("?disetujui=1", Object.assign({}, HOME, { approvedAllowed: false })).approved, "");
  assert.equal(readHomeState("?disetujui=2", HOME).approved, "");
});

test("home: the coverage layer only for the indicators it reads, and it stays in the URL", () => {
  assert.equal(readHomeState("?indicator=tanpa_jamban&cakupan=1", HOME).coverage, "1");
  assert.equal(readHomeState("?indicator=babs&cakupan=1", HOME).coverage, "");
  assert.equal(readHomeState("?cakupan=1", Object.assign({}, HOME, { coverage: [] })).coverage, "");
  const on = readHomeState("?indicator=tanpa_jamban&cakupan=1&area=64.09.01", HOME);
  assert.deepEqual(readHomeState(homeSearch(on, HOME), HOME), on);
  assert.equal(homeSearch(on, HOME), "?indicator=tanpa_jamban&level=desa&area=64.09.01&cakupan=1");
  // Switching to an indicator it does not read switches the layer off.
  assert.equal(mergeHomeState(on, { indicator: "babs" }, HOME).coverage, "");
});

test("home: the criterion is written only with the layer, the basemap only when there is one", () => {
  const state = Object.assign({}, DEFAULT_HOME, { criterion: "ats_7_18", basemap: "0" });
  assert.equal(homeSearch(state, HOME), "?indicator=tanpa_jamban&level=desa&basemap=0");
  assert.equal(homeSearch(state, Object.assign({}, HOME, { basemapConfigurable: false })),
    "?indicator=tanpa_jamban&level=desa");
});

const VILLAGE = {
  indicators: { tanpa_jamban: {} }, householdsAllowed: true,
  criteria: ["tanpa_jamban", "ats_7_18", "desil_1_4"], tabs: ["tanpa_jamban", "ats", "desil"], basemapConfigurable: false
};

test("village: households on by default, defaults left out of the URL", () => {
  const state = readVillageState("", VILLAGE);
  assert.deepEqual(state, { indicator: "", layer: "households", criterion: "tanpa_jamban", tab: "tanpa_jamban", basemap: "1" });
  assert.equal(villageSearch(state, VILLAGE), "");
  assert.equal(readVillageState("?layer=0", VILLAGE).layer, "");
  assert.equal(readVillageState("", Object.assign({}, VILLAGE, { householdsAllowed: false })).layer, "");
});

test("village: the query written reads back as the same view", () => {
  const base = readVillageState("", VILLAGE);
  [
    mergeVillageState(base, { tab: "desil" }),
    mergeVillageState(base, { layer: "", indicator: "tanpa_jamban" }),
    mergeVillageState(base, { criterion: "ats_7_18", tab: "ats" })
  ].forEach((state) => assert.deepEqual(readVillageState(villageSearch(state, VILLAGE), VILLAGE), state));
  assert.equal(villageSearch(mergeVillageState(base, { tab: "desil" }), VILLAGE), "?tab=desil");
  assert.equal(base.tab, "tanpa_jamban", "merging makes a new state");
});

test("no map criteria: no criterion in the state or the URL", () => {
  const none = Object.assign({}, HOME, { criteria: [] });
  const state = readHomeState("?layer=households&criterion=tanpa_jamban", none);
  assert.equal(state.criterion, "");
  assert.equal(homeSearch(state, none), "?indicator=tanpa_jamban&level=desa&layer=households");
  const village = readVillageState("?criterion=x", Object.assign({}, VILLAGE, { criteria: [] }));
  assert.equal(village.criterion, "");
  assert.equal(villageSearch(village, Object.assign({}, VILLAGE, { criteria: [] })), "");
});
