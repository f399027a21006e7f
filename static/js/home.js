// The map dashboard (home page): choropleth per village or kecamatan, drill-down, KPI
// cards, ranked table, charts and, for the roles allowed, household points. This module
// wires the parts together; the view lives in the query string (lib/state.js).

import { createCharts } from "./charts.js";
import { bindHomeControls } from "./controls.js";
import { GEOJSON, getJSON, valueStore } from "./data.js";
import { clear, h, readConfig, readTheme } from "./dom.js";
import { coverageIndicator, coverageKey, coverageRows } from "./coverage.js";
import { createHomeMap } from "./home-map.js";
import { renderKpis } from "./kpis.js";
import { choropleth } from "./lib/classify.js";
import { criterionCodes } from "./lib/criteria.js";
import { formatter } from "./lib/format.js";
import { homeSearch, mergeHomeState, readHomeState } from "./lib/state.js";
import { query } from "./lib/url.js";
import { rankedTable } from "./table.js";
import { urlState } from "./url-state.js";

const cfg = readConfig("dashboard-config");
if (cfg && cfg.kabupaten) start(cfg);

function start(cfg) {
  const KAB = cfg.kabupaten.code;
  const indicators = Object.fromEntries(cfg.indicators.map((ind) => [ind.code, ind]));
  const kecamatan = Object.fromEntries(cfg.kecamatan.map((kec) => [kec.code, kec]));
  const kecCodes = cfg.kecamatan.map((kec) => kec.code);
  const chartIndicators = cfg.ladder.concat(cfg.outOfSchool).filter((code) => indicators[code]);
  const regions = { desa: null, kecamatan: null };
  const ctx = {
    kabupaten: KAB, indicators, kecamatan, criteria: criterionCodes(cfg.criteria),
    defaultIndicator: indicators[cfg.defaultIndicator] ? cfg.defaultIndicator : (cfg.indicators[0] || {}).code,
    householdsAllowed: cfg.households.allowed, basemapConfigurable: Boolean(cfg.basemap.url),
    coverage: cfg.coverage && cfg.valuesAllowed ? cfg.coverage.indicators : [],
    approvedAllowed: Boolean(cfg.approvedAllowed)
  };
  const coverageIndicators = {}; // coverage key -> its pseudo-indicator (coverage.js)
  const store = urlState({
    read: (search) => readHomeState(search, ctx),
    search: (state) => homeSearch(state, ctx),
    merge: (state, patch) => mergeHomeState(state, patch, ctx),
    onChange: (state, previous) => { syncControls(); update(previous); }
  });

  // The figures as the rollup has them, and of approved villages only (?disetujui=1):
  // two stores, so that switching back and forth reads each once.
  const stores = {
    "": valueStore(cfg.urls.values, cfg.period),
    "1": valueStore(cfg.urls.values, cfg.period, { approved: "1" })
  };
  const currentStore = () => stores[store.get().approved === "1" ? "1" : ""];

  // What the parts of the page share (home-map.js, areas.js, kpis.js, table.js, charts.js).
  const page = {
    cfg, KAB, indicators, kecamatan, kecCodes,
    S: cfg.strings, fmt: formatter(cfg.language), theme: readTheme(),
    values: {
      rowsOf: (indicator) => currentStore().rowsOf(indicator),
      load: (params) => currentStore().load(params),
      loadFrom: (url, convert) => currentStore().loadFrom(url, convert)
    },
    model: null,
    state: store.get,
    // What the map, legend, table and KPI cards show: the chosen indicator, or its
    // coverage gap when that layer is on.
    shownKey() {
      const state = store.get();
      return state.coverage === "1" ? coverageKey(state.indicator) : state.indicator;
    },
    shownIndicator() {
      const key = page.shownKey();
      return indicators[key] || coverageIndicators[key] ||
        coverageIndicator(indicators[store.get().indicator], cfg.strings, cfg.coverage.year);
    },
    setState: store.set,
    regionsLoaded: () => Boolean(regions.desa),
    villageFeature: (code) => (regions.desa ? regions.desa.features : []).filter((f) => f.id === code)[0],
    villageFeatures: (area) => (regions.desa ? regions.desa.features : [])
      .filter((f) => f.geometry && (area === KAB || f.properties.parent === area)),
    kecamatanFeatures: () => (regions.kecamatan ? regions.kecamatan.features : []).filter((f) => f.geometry),
    villageUrl: (code) => cfg.urls.village.replace("CODE", code) + "?indicator=" + encodeURIComponent(store.get().indicator),
    areaName(code) {
      if (code === KAB) return cfg.kabupaten.name;
      if (kecamatan[code]) return kecamatan[code].name;
      const feature = page.villageFeature(code);
      return feature ? feature.properties.name : code;
    },
    // Areas shown by the current view, with their codes and level.
    scope() {
      if (store.get().level === "kecamatan") return { level: "kecamatan", codes: kecCodes.slice() };
      return { level: "desa", codes: page.villageFeatures(store.get().area).map((f) => f.properties.code) };
    },
    // The colour classes span every village of the kabupaten, so that a colour means the
    // same in each kecamatan.
    currentModel() {
      const state = store.get();
      const sc = page.scope();
      const codes = sc.level === "desa" ? page.villageFeatures(KAB).map((f) => f.properties.code) : sc.codes;
      return choropleth(page.shownIndicator(), page.values.rowsOf(page.shownKey()), codes, page.theme);
    }
  };
  const S = page.S;

  // ---- data: village rows of the indicator, kabupaten + kecamatan rows of it (with the
  // chart indicators on the first call): two requests at most; a kecamatan's villages
  // for its charts.
  const summaryRequested = {}; // mode:indicator -> promise of its kabupaten and kecamatan rows
  function loadIndicator(code) {
    if (!cfg.valuesAllowed || !cfg.period) return Promise.resolve();
    const mode = store.get().approved === "1" ? "1:" : ":";
    const jobs = [page.values.load({ indicator: code, parent: KAB, level: "desa" })];
    const wanted = [code].concat(chartIndicators).filter((c, i, all) => all.indexOf(c) === i && !summaryRequested[mode + c]);
    if (wanted.length) {
      const summary = page.values.load({ indicator: wanted.join(","), area: [KAB].concat(kecCodes).join(",") });
      wanted.forEach((c) => { summaryRequested[mode + c] = summary; });
    }
    [code].concat(chartIndicators).forEach((c) => jobs.push(summaryRequested[mode + c]));
    return Promise.all(jobs);
  }
  // The coverage gap of the indicator at every level of the kabupaten (three requests,
  // once per indicator).
  function loadCoverage(state) {
    if (state.coverage !== "1" || !cfg.coverage) return Promise.resolve();
    const key = coverageKey(state.indicator);
    coverageIndicators[key] = coverageIndicator(indicators[state.indicator], cfg.strings, cfg.coverage.year);
    return Promise.all(["desa", "kecamatan", "kabupaten"].map((level) => page.values.loadFrom(
      query(cfg.coverage.url, { indicator: state.indicator, year: String(cfg.coverage.year), parent: KAB, level }),
      (rows) => coverageRows(rows, key)
    )));
  }
  function loadVillageCharts(kec) {
    if (!cfg.valuesAllowed || !cfg.period || kec === KAB) return Promise.resolve();
    return page.values.load({ indicator: chartIndicators.join(","), parent: kec, level: "desa" });
  }
  const regionsUrl = (params) => query(cfg.urls.regions, params);
  // Started at once, before the map exists: the page and the data load side by side.
  const boot = Promise.all([
    getJSON(regionsUrl({ level: "desa", within: KAB, format: "geojson", tolerance: "0.0005" }), GEOJSON)
      .then((fc) => { regions.desa = fc; }),
    getJSON(regionsUrl({ level: "kecamatan", parent: KAB, format: "geojson", tolerance: "0.001" }), GEOJSON)
      .then((fc) => { regions.kecamatan = fc; }),
    loadIndicator(store.get().indicator),
    loadVillageCharts(store.get().area),
    loadCoverage(store.get())
  ]);

  // ---- the parts -----------------------------------------------------------------------
  const notice = document.getElementById("values-notice");
  const syncControls = bindHomeControls(store, cfg);
  const map = createHomeMap(page, boot, showFailure);
  const table = rankedTable(page, map.highlight);
  const charts = createCharts(page);

  if (!cfg.valuesAllowed || !cfg.period) {
    notice.hidden = false;
    notice.textContent = cfg.valuesAllowed ? S.no_data : S.login_for_values;
  }

  function renderBreadcrumb() {
    const state = store.get();
    const nav = clear(document.getElementById("breadcrumb"));
    const list = h("ol");
    const atKab = state.area === KAB;
    const kabItem = atKab
      ? h("span", { "aria-current": "page", text: cfg.kabupaten.name })
      : h("button", { type: "button", className: "link-button", text: cfg.kabupaten.name });
    if (!atKab) kabItem.addEventListener("click", () => store.set({ area: KAB, level: "kecamatan" }));
    list.appendChild(h("li", {}, [kabItem]));
    if (!atKab) {
      list.appendChild(h("li", {}, [h("span", { "aria-current": "page", text: S.kecamatan + " " + page.areaName(state.area) })]));
    }
    nav.appendChild(list);
    document.getElementById("map-hint").textContent = state.level === "kecamatan" ? S.click_kecamatan : S.click_village;
  }

  function showFailure() {
    notice.hidden = false;
    notice.textContent = S.load_failed;
    map.failed();
  }

  function renderPanels() {
    renderKpis(page);
    table.render();
    charts.render();
  }

  let pending = 0;
  function update(previous) {
    const busy = document.querySelector(".dash-grid");
    const state = store.get();
    pending += 1;
    busy.classList.add("is-loading");
    map.busy();
    Promise.all([boot, loadIndicator(state.indicator), loadVillageCharts(state.area), loadCoverage(state)])
      .then(() => {
        page.model = page.currentModel();
        renderBreadcrumb();
        map.render(previous);
        renderPanels();
      }, showFailure)
      .then(() => {
        pending -= 1;
        if (!pending) busy.classList.remove("is-loading");
      });
  }

  syncControls();
  renderBreadcrumb();
  boot.then(() => {
    page.model = page.currentModel();
    renderPanels();
  }, showFailure);
}
