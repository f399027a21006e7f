// The village page: outline map with the village's households (for the roles allowed),
// every indicator against the kecamatan and kabupaten, and the households an SKPD would
// target. This module wires the parts together; the view (layer, criterion, tab,
// basemap) lives in the query string (lib/state.js).

import { bindMapControls } from "./controls.js";
import { GEOJSON, getJSON, valueStore } from "./data.js";
import { readConfig, readTheme } from "./dom.js";
import { renderIndicatorTable } from "./indicator-table.js";
import { renderHouseholdLegend } from "./legend.js";
import { criterionCodes, criterionName } from "./lib/criteria.js";
import { formatter } from "./lib/format.js";
import { mergeVillageState, readVillageState, villageSearch } from "./lib/state.js";
import { query } from "./lib/url.js";
import { basemapOf, householdLayer, onMapInit, panelControl, showBasemap } from "./map.js";
import { TABS, createTargets } from "./targets.js";
import { urlState } from "./url-state.js";

const cfg = readConfig("dashboard-config");
if (cfg && cfg.village) start(cfg);

function start(cfg) {
  const V = cfg.village;
  const indicators = Object.fromEntries(cfg.indicators.map((ind) => [ind.code, ind]));
  const ctx = {
    indicators, criteria: criterionCodes(cfg.criteria), tabs: Object.keys(TABS),
    householdsAllowed: cfg.households.allowed, basemapConfigurable: Boolean(cfg.basemap.url)
  };
  const store = urlState({
    read: (search) => readVillageState(search, ctx),
    search: (state) => villageSearch(state, ctx),
    merge: mergeVillageState,
    onChange: () => apply()
  });
  const page = {
    cfg, indicators, S: cfg.strings, fmt: formatter(cfg.language), theme: readTheme(),
    values: valueStore(cfg.urls.values, cfg.period),
    state: store.get,
    setState: store.set
  };
  const { S, theme } = page;
  const notice = document.getElementById("values-notice");

  const valuesReady = !cfg.valuesAllowed || !cfg.period ? Promise.resolve()
    : page.values.load({
      indicator: cfg.indicators.map((ind) => ind.code).join(","),
      area: [V.code, V.kecamatan.code, V.kabupaten.code].join(",")
    });
  const outline = getJSON(query(cfg.urls.region.replace("CODE", V.code), { format: "geojson", tolerance: "0.0001" }), GEOJSON);

  if (!cfg.valuesAllowed || !cfg.period) {
    notice.hidden = false;
    notice.textContent = cfg.valuesAllowed ? S.no_data : S.login_for_values;
  }

  // ---- map -------------------------------------------------------------------------------
  let map = null;
  let households = null;
  let basemap = null;
  let householdLegendBox = null;
  let marker = null;

  function showHouseholdLegend() {
    if (!householdLegendBox) return;
    const state = store.get();
    householdLegendBox.hidden = state.layer !== "households";
    if (state.layer === "households") renderHouseholdLegend(householdLegendBox, criterionName(cfg.criteria, state.criterion), map.getZoom(), S, theme);
  }

  function applyMap() {
    if (!map) return;
    const state = store.get();
    if (cfg.households.allowed) {
      if (state.layer === "households" && !households) {
        households = householdLayer(map, {
          tiles: cfg.households.tiles, filters: { region: V.code }, criterion: state.criterion, theme,
          strings: S, fmt: page.fmt, detail: cfg.households.detail, page: cfg.households.page,
        admin: cfg.households.admin,
          village: cfg.urls.village, currentVillage: V.code, sanitationLevels: cfg.sanitationLevels
        });
        households.layer.addTo(map);
      } else if (state.layer !== "households" && households) {
        map.removeLayer(households.layer);
        households = null;
      }
      if (households) households.setCriterion(state.criterion);
      showHouseholdLegend();
    }
    showBasemap(map, basemap, state.basemap === "1");
  }

  function showOnMap(hh) {
    if (!map || !hh.lokasi) return;
    const L = window.L;
    const latlng = L.latLng(hh.lokasi[1], hh.lokasi[0]);
    if (marker) map.removeLayer(marker);
    marker = L.circleMarker(latlng, { radius: 10, color: theme.marker, weight: 3, fill: false, interactive: false }).addTo(map);
    map.setView(latlng, Math.max(map.getZoom(), 17));
    map.getContainer().scrollIntoView({ block: "nearest", behavior: "smooth" });
  }

  onMapInit("map", (leafletMap) => {
    map = leafletMap;
    map.options.zoomSnap = 0.25;
    window.DP = { map }; // for the browser tests and the console
    const container = map.getContainer();
    container.dataset.ready = "0";
    basemap = basemapOf(map);
    if (cfg.households.allowed) {
      householdLegendBox = panelControl(map, "bottomright", "legend household-legend");
      householdLegendBox.id = "household-legend";
      map.on("zoomend", showHouseholdLegend);
    }
    outline.then((feature) => {
      const layer = window.L.geoJSON(feature, {
        interactive: false,
        style: () => ({ color: theme.villageOutline, weight: 3, fillColor: theme.villageOutline, fillOpacity: 0.06 })
      }).addTo(map);
      if (layer.getBounds().isValid()) map.fitBounds(layer.getBounds(), { padding: [16, 16] });
      container.dataset.featureCount = "1";
      applyMap();
      container.dataset.ready = "1";
    }).catch(() => {
      notice.hidden = false;
      notice.textContent = S.load_failed;
      container.dataset.ready = "error";
    });
  });

  // ---- the rest ----------------------------------------------------------------------------
  const targets = createTargets(page, showOnMap);
  const syncControls = bindMapControls(store);

  function apply() {
    syncControls();
    applyMap();
    targets.apply();
  }

  apply();
  valuesReady.then(() => {
    renderIndicatorTable(page);
    targets.showCounts();
  }, () => {
    notice.hidden = false;
    notice.textContent = S.load_failed;
  });
}
