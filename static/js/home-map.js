// The home page's map: areas and their legend, the basemap switch and the household
// layer, drawn for the view in the URL.

import { createAreas } from "./areas.js";
import { renderHouseholdLegend, renderLegend } from "./legend.js";
import { criterionName } from "./lib/criteria.js";
import { basemapOf, householdLayer, onMapInit, panelControl, showBasemap } from "./map.js";

// `ready` resolves when the boundaries and first values are in; `onFailure` is called
// when they could not be loaded. render(previous) redraws for the current state.
export function createHomeMap(page, ready, onFailure) {
  const { cfg, S, fmt, theme, KAB } = page;
  let map = null;
  let areas = null;
  let households = null;
  let basemap = null;
  let legendBox = null;
  let householdLegendBox = null;

  function showHouseholdLegend() {
    if (!householdLegendBox) return;
    const state = page.state();
    householdLegendBox.hidden = state.layer !== "households";
    if (state.layer === "households") renderHouseholdLegend(householdLegendBox, criterionName(cfg.criteria, state.criterion), map.getZoom(), S, theme);
  }

  function updateHouseholds(previous) {
    if (!cfg.households.allowed) return;
    const state = page.state();
    const wanted = state.layer === "households";
    if (households && (!wanted || (previous && previous.area !== state.area))) {
      map.removeLayer(households.layer);
      households = null;
    }
    if (wanted && !households) {
      households = householdLayer(map, {
        tiles: cfg.households.tiles,
        filters: { region: state.area !== KAB ? state.area : "" },
        criterion: state.criterion, theme, strings: S, fmt,
        detail: cfg.households.detail, page: cfg.households.page,
        admin: cfg.households.admin,
        village: cfg.urls.village, sanitationLevels: cfg.sanitationLevels
      });
      households.layer.addTo(map);
    }
    if (households) households.setCriterion(state.criterion);
    showHouseholdLegend();
  }

  function render(previous) {
    if (!map || !page.regionsLoaded()) return;
    const state = page.state();
    const scopeChanged = !previous || previous.area !== state.area || previous.level !== state.level;
    const container = map.getContainer();
    container.dataset.ready = "0";
    areas.draw();
    legendBox.hidden = !cfg.valuesAllowed;
    if (cfg.valuesAllowed) renderLegend(legendBox, page.model, fmt, S, theme);
    showBasemap(map, basemap, state.basemap === "1");
    container.dataset.indicator = state.indicator;
    container.dataset.shown = page.shownKey();
    // Household tiles are asked for once the map has settled on the area (the zoom is
    // animated), not for the view it is leaving.
    const settle = () => {
      updateHouseholds(previous);
      container.dataset.ready = "1";
    };
    if (!scopeChanged) {
      settle();
      return;
    }
    map.once("moveend", settle);
    if (!areas.fit()) {
      map.off("moveend", settle);
      settle();
    }
  }

  onMapInit("map", (leafletMap) => {
    map = leafletMap;
    // Quarter zoom steps: the long kabupaten fills the frame instead of a third of it.
    map.options.zoomSnap = 0.25;
    window.DP = { map }; // for the browser tests and the console
    map.getContainer().dataset.ready = "0";
    areas = createAreas(map, page);
    basemap = basemapOf(map);
    legendBox = panelControl(map, "bottomright", "legend");
    legendBox.id = "map-legend";
    householdLegendBox = panelControl(map, "topright", "legend household-legend");
    householdLegendBox.id = "household-legend";
    householdLegendBox.hidden = true;
    map.on("zoomend", showHouseholdLegend);
    ready.then(() => {
      page.model = page.model || page.currentModel();
      render(null);
    }, onFailure);
  });

  return {
    render,
    failed() { if (map) map.getContainer().dataset.ready = "error"; },
    busy() { if (map) map.getContainer().dataset.ready = "0"; },
    highlight(code, on) {
      if (!areas) return;
      if (on) areas.highlight(code);
      else areas.unhighlight(code);
    }
  };
}
