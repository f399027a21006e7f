// The village page's households an SKPD would target, one tab per criterion, a page at a
// time (cursor pagination of /api/v1/households/).

import { getJSON } from "./data.js";
import { clear, h } from "./dom.js";
import { DASH } from "./lib/format.js";
import { hasValue } from "./lib/values.js";
import { query, sameOriginPath } from "./lib/url.js";

// Each tab: the list's filter, and the indicator whose numerator counts its households.
export const TABS = {
  tanpa_jamban: { params: { indicator: "tanpa_jamban" }, count: "tanpa_jamban" },
  ats: { params: { has_ats: "true" }, count: null },
  desil: { params: { desil_kesejahteraan__lte: "4" }, count: "desil_1_4" }
};
const PAGE_SIZE = 25;
const COLUMNS = 10;

// `showOnMap(household)` centres the map on it. Returns {apply(), showCounts()}.
export function createTargets(page, showOnMap) {
  const { cfg, S, fmt } = page;
  const V = cfg.village;
  const table = document.getElementById("households-table");
  const moreButton = document.getElementById("households-more");
  const tabButtons = Array.from(document.querySelectorAll("[data-tab]"));
  const list = { tab: null, next: null, loading: false };

  function householdRow(hh) {
    const actions = h("span", { className: "row-actions" });
    if (hh.lokasi) {
      const locate = h("button", { type: "button", className: "link-button", text: S.show_on_map });
      locate.addEventListener("click", () => showOnMap(hh));
      actions.appendChild(locate);
    }
    if (cfg.households.page && /^[0-9]+$/.test(String(hh.id))) {
      actions.appendChild(h("a", { href: cfg.households.page.replace("{id}", String(hh.id)), text: S.open_household }));
    }
    if (cfg.households.admin && /^[0-9]+$/.test(String(hh.id))) {
      actions.appendChild(h("a", { href: cfg.households.admin.replace("{id}", String(hh.id)), text: S.open_admin }));
    }
    const rtRw = [hh.rt, hh.rw].filter((x) => x).join("/");
    const sanitation = hh.tangga_sanitasi == null ? DASH
      : (cfg.sanitationLevels[String(hh.tangga_sanitasi)] || String(hh.tangga_sanitasi));
    return h("tr", { dataset: { id: String(hh.id) } }, [
      h("td", { text: hh.no_kk || S.hidden }),
      h("td", { text: hh.alamat || DASH }),
      h("td", { text: hh.dusun || DASH }),
      h("td", { text: rtRw || DASH }),
      h("td", { className: "num", text: fmt.count(hh.jumlah_anggota) }),
      h("td", { className: "num", text: fmt.count(hh.jumlah_ats) }),
      h("td", { className: "num", text: hh.desil_kesejahteraan == null ? DASH : String(hh.desil_kesejahteraan) }),
      h("td", { text: sanitation }),
      h("td", { text: hh.air_minum_layak == null ? DASH : (hh.air_minum_layak ? S.yes : S.no) }),
      h("td", {}, [actions])
    ]);
  }

  function message(text) {
    return h("tr", {}, [h("td", { colspan: String(COLUMNS), text })]);
  }

  function load(url, append) {
    list.loading = true;
    moreButton.disabled = true;
    const tab = list.tab;
    return getJSON(url).then((result) => {
      if (tab !== list.tab) return; // another tab was chosen meanwhile
      const body = table.tBodies[0];
      if (!append) clear(body);
      (result.results || []).forEach((hh) => body.appendChild(householdRow(hh)));
      if (!body.rows.length) body.appendChild(message(S.no_households));
      list.next = result.next ? sameOriginPath(result.next, window.location.href) : null;
      moreButton.hidden = !list.next;
      table.dataset.rows = String(body.querySelectorAll("tr[data-id]").length);
    }).catch(() => {
      clear(table.tBodies[0]).appendChild(message(S.load_failed));
    }).then(() => {
      list.loading = false;
      moreButton.disabled = false;
    });
  }

  function apply() {
    const state = page.state();
    if (!table || list.tab === state.tab) return;
    list.tab = state.tab;
    tabButtons.forEach((button) => {
      const selected = button.dataset.tab === state.tab;
      button.setAttribute("aria-selected", String(selected));
      button.tabIndex = selected ? 0 : -1;
    });
    document.getElementById("targets-panel").setAttribute("aria-labelledby", "tab-" + state.tab);
    delete table.dataset.rows;
    clear(table.tBodies[0]).appendChild(message(S.loading));
    const params = Object.assign({ region: V.code, page_size: PAGE_SIZE }, TABS[state.tab].params);
    // The households of one dusun/RW/RT (the page's ?unit=, from the breakdown's links).
    if (cfg.households.unit) params.unit = String(cfg.households.unit);
    load(query(cfg.households.list, params), false);
  }

  // The number of households of each tab, where an indicator counts them.
  function showCounts() {
    if (cfg.households.unit) return; // the village's counts, not the unit's
    Object.keys(TABS).forEach((key) => {
      const code = TABS[key].count;
      const row = code && page.values.rowsOf(code)[V.code];
      const badge = document.querySelector("[data-count-for='" + key + "']");
      if (badge && hasValue(row)) badge.textContent = "(" + fmt.count(row.numerator) + ")";
    });
  }

  if (table) {
    const head = clear(table.tHead.rows[0]);
    [[S.no_kk], [S.address], [S.dusun], [S.rt_rw], [S.members, true], [S.ats, true], [S.desil, true],
      [S.sanitation], [S.water], [""]].forEach((col) => {
      head.appendChild(h("th", { scope: "col", className: col[1] ? "num" : "", text: col[0] }));
    });
    tabButtons.forEach((button, index) => {
      button.addEventListener("click", () => page.setState({ tab: button.dataset.tab }));
      button.addEventListener("keydown", (event) => {
        const step = event.key === "ArrowRight" ? 1 : event.key === "ArrowLeft" ? -1 : 0;
        if (!step) return;
        const target = tabButtons[(index + step + tabButtons.length) % tabButtons.length];
        target.focus();
        page.setState({ tab: target.dataset.tab });
      });
    });
    moreButton.addEventListener("click", () => {
      if (list.next && !list.loading) load(list.next, true);
    });
  }

  return { apply, showCounts };
}
