// The home page's KPI cards: households and people of the area, the indicator's value
// there, against the kabupaten, and the worst village.

import { clear, h } from "./dom.js";
import { worseFirst } from "./lib/classify.js";
import { DASH } from "./lib/format.js";
import { isJudged } from "./lib/palette.js";
import { hasValue, isSuppressed } from "./lib/values.js";

export function renderKpis(page) {
  const { cfg, S, fmt, KAB } = page;
  const state = page.state();
  const area = state.area;
  const totals = area === KAB ? cfg.totals : page.kecamatan[area];
  document.getElementById("kpi-households").textContent = fmt.count(totals.households);
  document.getElementById("kpi-people").textContent = fmt.count(totals.members);
  document.getElementById("kpi-households-area").textContent = page.areaName(area);
  document.getElementById("kpi-people-area").textContent = page.areaName(area);

  const ind = page.shownIndicator();
  const rows = page.values.rowsOf(page.shownKey());
  const row = rows[area];
  const nameNode = document.getElementById("kpi-indicator-name");
  nameNode.textContent = ind.name + " \u00b7 " + page.areaName(area);
  nameNode.title = ind.description || "";
  const valueNode = document.getElementById("kpi-indicator-value");
  const sub = document.getElementById("kpi-indicator-sub");
  const compare = clear(document.getElementById("kpi-indicator-compare"));
  if (!cfg.valuesAllowed) {
    valueNode.textContent = DASH;
    sub.textContent = S.login_for_values;
    return;
  }
  valueNode.textContent = isSuppressed(row) ? S.suppressed : fmt.value(ind, row && row.value);
  renderApprovedCount(page, row);
  sub.textContent = hasValue(row) && ind.ratio ? fmt.count(row.numerator) + " / " + fmt.count(row.denominator) : "";
  if (area !== KAB && hasValue(rows[KAB])) {
    compare.appendChild(document.createTextNode(S.vs_kabupaten + ": " + fmt.value(ind, rows[KAB].value)));
  }
  // The worst village of the area, where the indicator judges.
  if (isJudged(ind)) {
    const order = worseFirst(ind);
    const worst = page.villageFeatures(area).map((f) => rows[f.properties.code])
      .filter(hasValue).sort((a, b) => order(a.value, b.value))[0];
    if (worst) {
      if (compare.firstChild) compare.appendChild(h("br"));
      compare.appendChild(document.createTextNode(S.worst + ": " + worst.area_name + " (" + fmt.value(ind, worst.value) + ")"));
    }
  }
}

// With ?disetujui=1: how many of the area's villages the figures hold ("12 dari 54 desa
// disetujui"), beside the toggle and in the indicator's card.
function renderApprovedCount(page, row) {
  const { S, fmt } = page;
  const line = document.getElementById("approved-count");
  const on = page.state().approved === "1";
  let text = "";
  if (on && row && row.villages !== undefined) {
    text = row.approved_villages
      ? S.approved_count.replace("%(approved)s", fmt.count(row.approved_villages)).replace("%(villages)s", fmt.count(row.villages))
      : S.none_approved;
  }
  if (line) {
    line.textContent = text;
    line.hidden = !text;
  }
  const card = document.getElementById("kpi-indicator-approved");
  if (card) {
    card.textContent = text;
    card.hidden = !text;
  }
}
