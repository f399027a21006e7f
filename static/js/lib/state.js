// The view of each page as a query string: read from the URL (anything unknown falls
// back to the default), written back with history.pushState so that the back button and
// a shared link give the same view. Pure: no DOM (url-state.js binds it to the history).

// Home page context `ctx`: {kabupaten: code, indicators: {code: indicator},
// kecamatan: {code: kecamatan}, defaultIndicator, householdsAllowed, criteria: [code]
// (the map criteria, the first is the default; maybe none), basemapConfigurable,
// coverage: [code] (indicators the "belum tersentuh program" layer reads; maybe none)}.
// approvedAllowed: whether "approved villages only" (?disetujui=1) may be asked.
export const HOME_KEYS = ["indicator", "level", "area", "layer", "criterion", "basemap", "coverage", "approved"];

function coverageOf(indicator, wanted, ctx) {
  return wanted && (ctx.coverage || []).indexOf(indicator) >= 0 ? "1" : "";
}

export function readHomeState(search, ctx) {
  const q = new URLSearchParams(search);
  const area = ctx.kecamatan[q.get("area")] ? q.get("area") : ctx.kabupaten;
  const indicator = ctx.indicators[q.get("indicator")] ? q.get("indicator") : ctx.defaultIndicator;
  return {
    indicator,
    area,
    level: area === ctx.kabupaten && q.get("level") === "kecamatan" ? "kecamatan" : "desa",
    layer: ctx.householdsAllowed && q.get("layer") === "households" ? "households" : "",
    criterion: ctx.criteria.indexOf(q.get("criterion")) >= 0 ? q.get("criterion") : (ctx.criteria[0] || ""),
    basemap: q.get("basemap") === "0" ? "0" : "1",
    coverage: coverageOf(indicator, q.get("cakupan") === "1", ctx),
    approved: ctx.approvedAllowed && q.get("disetujui") === "1" ? "1" : ""
  };
}

// The next state after `patch`: inside a kecamatan only villages are shown.
export function mergeHomeState(state, patch, ctx) {
  const next = {};
  HOME_KEYS.forEach((key) => { next[key] = key in patch ? patch[key] : state[key]; });
  if (next.area !== ctx.kabupaten) next.level = "desa";
  next.coverage = coverageOf(next.indicator, next.coverage === "1", ctx);
  return next;
}

export function homeSearch(state, ctx) {
  const q = new URLSearchParams();
  q.set("indicator", state.indicator);
  q.set("level", state.level);
  if (state.area !== ctx.kabupaten) q.set("area", state.area);
  if (state.layer) {
    q.set("layer", state.layer);
    if (state.criterion) q.set("criterion", state.criterion);
  }
  if (ctx.basemapConfigurable && state.basemap === "0") q.set("basemap", "0");
  if (state.coverage === "1") q.set("cakupan", "1");
  if (state.approved === "1") q.set("disetujui", "1");
  return "?" + q.toString();
}

// Village page context `ctx`: {indicators: {code: indicator}, householdsAllowed,
// criteria: [code], tabs: [key], basemapConfigurable}. The household layer is on unless
// switched off; the first criterion and the first tab are the defaults, left out of the URL.
export function readVillageState(search, ctx) {
  const q = new URLSearchParams(search);
  return {
    indicator: ctx.indicators[q.get("indicator")] ? q.get("indicator") : "",
    layer: ctx.householdsAllowed && q.get("layer") !== "0" ? "households" : "",
    criterion: ctx.criteria.indexOf(q.get("criterion")) >= 0 ? q.get("criterion") : (ctx.criteria[0] || ""),
    tab: ctx.tabs.indexOf(q.get("tab")) >= 0 ? q.get("tab") : ctx.tabs[0],
    basemap: q.get("basemap") === "0" ? "0" : "1"
  };
}

export function mergeVillageState(state, patch) {
  return Object.assign({}, state, patch);
}

export function villageSearch(state, ctx) {
  const q = new URLSearchParams();
  if (state.indicator) q.set("indicator", state.indicator);
  if (ctx.householdsAllowed) {
    if (!state.layer) q.set("layer", "0");
    else if (state.criterion && state.criterion !== ctx.criteria[0]) q.set("criterion", state.criterion);
    if (state.tab !== ctx.tabs[0]) q.set("tab", state.tab);
  }
  if (ctx.basemapConfigurable && state.basemap === "0") q.set("basemap", "0");
  const text = q.toString();
  return text ? "?" + text : "";
}
