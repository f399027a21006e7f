// Controls above the maps: the household layer with its criterion, the basemap (shared by
// both dashboard pages), and the home page's indicator and level choices.

import { h } from "./dom.js";

// Binds the controls of templates/dashboard/_map_controls.html (those present) to the
// URL state `store`; returns sync(), which shows the state in them.
export function bindMapControls(store) {
  const householdToggle = document.getElementById("household-toggle");
  const criterionSelect = document.getElementById("household-criterion");
  const basemapToggle = document.getElementById("basemap-toggle");
  if (householdToggle) {
    householdToggle.addEventListener("change", () => store.set({ layer: householdToggle.checked ? "households" : "" }));
  }
  if (criterionSelect) criterionSelect.addEventListener("change", () => store.set({ criterion: criterionSelect.value }));
  if (basemapToggle) basemapToggle.addEventListener("change", () => store.set({ basemap: basemapToggle.checked ? "1" : "0" }));
  return function sync() {
    const state = store.get();
    if (householdToggle) householdToggle.checked = state.layer === "households";
    if (criterionSelect) {
      criterionSelect.value = state.criterion;
      criterionSelect.disabled = state.layer !== "households";
    }
    if (basemapToggle) basemapToggle.checked = state.basemap === "1";
  };
}

// The indicator select (grouped by topic) and the level buttons of the home page.
export function bindHomeControls(store, cfg) {
  const select = document.getElementById("indicator-select");
  const levelButtons = Array.from(document.querySelectorAll("[data-level]"));
  const groups = {};
  cfg.indicators.forEach((ind) => {
    if (!groups[ind.topic]) {
      groups[ind.topic] = h("optgroup", { label: cfg.topics[ind.topic] || ind.topic });
      select.appendChild(groups[ind.topic]);
    }
    groups[ind.topic].appendChild(h("option", { value: ind.code, text: ind.name }));
  });
  select.addEventListener("change", () => store.set({ indicator: select.value }));
  // The "belum tersentuh program" layer: for the indicators it reads (lib/state.js).
  const coverageToggle = document.getElementById("coverage-toggle");
  const covered = cfg.coverage ? cfg.coverage.indicators : [];
  if (coverageToggle) {
    coverageToggle.addEventListener("change", () => store.set({ coverage: coverageToggle.checked ? "1" : "" }));
  }
  // "Only approved villages": the figures of approved villages (lib/state.js).
  const approvedToggle = document.getElementById("approved-only");
  if (approvedToggle) {
    approvedToggle.addEventListener("change", () => store.set({ approved: approvedToggle.checked ? "1" : "" }));
  }
  levelButtons.forEach((button) => {
    button.addEventListener("click", () => store.set({ level: button.dataset.level, area: cfg.kabupaten.code }));
  });
  const syncMap = bindMapControls(store);
  return function sync() {
    const state = store.get();
    select.value = state.indicator;
    if (coverageToggle) {
      coverageToggle.checked = state.coverage === "1";
      coverageToggle.disabled = covered.indexOf(state.indicator) < 0;
    }
    if (approvedToggle) approvedToggle.checked = state.approved === "1";
    levelButtons.forEach((button) => button.setAttribute("aria-pressed", String(button.dataset.level === state.level)));
    syncMap();
  };
}
