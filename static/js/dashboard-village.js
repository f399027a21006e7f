// The village page: outline map with the village's households (for the roles allowed),
// every indicator against the kecamatan and kabupaten, and the households an SKPD would
// target, a page at a time. The view (layer, criterion, tab, basemap) is in the URL.
(function () {
  "use strict";

  var DP = window.DP;
  var cfg = DP.config();
  if (!cfg || !cfg.village) return;

  var S = cfg.strings;
  var fmt = DP.formatter(cfg.language);
  var V = cfg.village;
  var AREAS = [V.code, V.kecamatan.code, V.kabupaten.code];
  var indicators = {};
  cfg.indicators.forEach(function (ind) { indicators[ind.code] = ind; });
  var TABS = {
    tanpa_jamban: { params: { indicator: "tanpa_jamban" }, count: "tanpa_jamban" },
    ats: { params: { has_ats: "true" }, count: null },
    desil: { params: { desil_kesejahteraan__lte: "4" }, count: "desil_1_4" }
  };
  var PAGE_SIZE = 25;

  // ---- state in the URL --------------------------------------------------------------
  function readState() {
    var q = new URLSearchParams(window.location.search);
    return {
      indicator: indicators[q.get("indicator")] ? q.get("indicator") : "",
      layer: cfg.households.allowed && q.get("layer") !== "0" ? "households" : "",
      criterion: DP.CRITERIA.indexOf(q.get("criterion")) >= 0 ? q.get("criterion") : "tanpa_jamban",
      tab: TABS[q.get("tab")] ? q.get("tab") : "tanpa_jamban",
      basemap: q.get("basemap") === "0" ? "0" : "1"
    };
  }

  function stateUrl(s) {
    var q = new URLSearchParams();
    if (s.indicator) q.set("indicator", s.indicator);
    if (cfg.households.allowed) {
      if (!s.layer) q.set("layer", "0");
      else if (s.criterion !== "tanpa_jamban") q.set("criterion", s.criterion);
      if (s.tab !== "tanpa_jamban") q.set("tab", s.tab);
    }
    if (cfg.basemap.url && s.basemap === "0") q.set("basemap", "0");
    var text = q.toString();
    return window.location.pathname + (text ? "?" + text : "");
  }

  var state = readState();

  function setState(patch) {
    var previous = state;
    state = Object.assign({}, state, patch);
    var url = stateUrl(state);
    if (url !== window.location.pathname + window.location.search) window.history.pushState(null, "", url);
    apply(previous);
  }

  window.addEventListener("popstate", function () {
    var previous = state;
    state = readState();
    apply(previous);
  });

  // ---- data ------------------------------------------------------------------------------
  var notice = document.getElementById("values-notice");
  var values = {};
  var valuesReady = !cfg.valuesAllowed || !cfg.period ? Promise.resolve()
    : DP.getJSON(DP.query(cfg.urls.values, {
      indicator: cfg.indicators.map(function (ind) { return ind.code; }).join(","),
      area: AREAS.join(","),
      period: cfg.period
    })).then(function (rows) { DP.indexRows(rows, values); });
  var outline = DP.getJSON(DP.query(cfg.urls.region.replace("CODE", V.code), { format: "geojson", tolerance: "0.0001" }),
    "application/geo+json");

  if (!cfg.valuesAllowed || !cfg.period) {
    notice.hidden = false;
    notice.textContent = cfg.valuesAllowed ? S.no_data : S.login_for_values;
  }

  // ---- indicator table -------------------------------------------------------------------
  function cell(ind, row) {
    if (DP.isSuppressed(row)) return DP.h("td", { className: "num", title: S.suppressed_hint, text: S.suppressed });
    if (!DP.hasValue(row)) return DP.h("td", { className: "num", text: cfg.valuesAllowed ? S.no_data : "\u2013" });
    var children = [fmt.value(ind, row.value)];
    if (ind.ratio) {
      children.push(DP.h("span", { className: "nd", text: fmt.count(row.numerator) + " / " + fmt.count(row.denominator) }));
    }
    return DP.h("td", { className: "num" }, children);
  }

  function comparison(ind, mine, kab) {
    if (!DP.isJudged(ind) || !DP.hasValue(mine) || !DP.hasValue(kab) || mine.value === kab.value) return null;
    var worse = ind.higher_is_better ? mine.value < kab.value : mine.value > kab.value;
    return DP.h("span", {
      className: "chip " + (worse ? "chip-worse" : "chip-better"),
      text: (worse ? "\u25b2 " : "\u25bc ") + (worse ? S.worse_than_kabupaten : S.better_than_kabupaten)
    });
  }

  function renderIndicators() {
    var table = document.getElementById("indicator-table");
    var body = DP.clear(table.tBodies[0]);
    var topic = null;
    cfg.indicators.forEach(function (ind) {
      if (ind.topic !== topic) {
        topic = ind.topic;
        body.appendChild(DP.h("tr", { className: "topic-row" }, [
          DP.h("th", { colspan: "4", scope: "colgroup", text: cfg.topics[topic] || topic })
        ]));
      }
      var rows = values[ind.code] || {};
      var name = DP.h("th", { scope: "row" }, [
        DP.h("span", { text: ind.name }),
        ind.unit !== "%" ? DP.h("span", { className: "nd", text: ind.unit }) : null,
        comparison(ind, rows[V.code], rows[V.kabupaten.code])
      ]);
      var tr = DP.h("tr", {
        className: ind.code === state.indicator ? "is-highlighted" : "",
        dataset: { indicator: ind.code }
      }, [name, cell(ind, rows[V.code]), cell(ind, rows[V.kecamatan.code]), cell(ind, rows[V.kabupaten.code])]);
      body.appendChild(tr);
    });
    table.dataset.rows = String(cfg.indicators.length);
    // Bring the indicator the visitor came from into view, inside the table only.
    var highlighted = body.querySelector("tr.is-highlighted");
    var wrap = table.parentNode;
    if (highlighted) {
      wrap.scrollTop += highlighted.getBoundingClientRect().top - wrap.getBoundingClientRect().top -
        table.tHead.getBoundingClientRect().height - 8;
    }
    Object.keys(TABS).forEach(function (key) {
      var code = TABS[key].count;
      var row = code && values[code] && values[code][V.code];
      var badge = document.querySelector("[data-count-for='" + key + "']");
      if (badge && DP.hasValue(row)) badge.textContent = "(" + fmt.count(row.numerator) + ")";
    });
  }

  // ---- map -------------------------------------------------------------------------------
  var map = null;
  var householdHandle = null;
  var basemap = null;
  var householdLegendBox = null;
  var marker = null;

  function householdOptions() {
    return {
      tiles: cfg.households.tiles, filters: { region: V.code }, criterion: state.criterion,
      strings: S, fmt: fmt, detail: cfg.households.detail, admin: cfg.households.admin,
      village: cfg.urls.village, currentVillage: V.code, sanitationLevels: cfg.sanitationLevels
    };
  }

  function renderHouseholdLegend() {
    if (!householdLegendBox) return;
    householdLegendBox.hidden = state.layer !== "households";
    if (state.layer === "households") DP.renderHouseholdLegend(householdLegendBox, state.criterion, map.getZoom(), S);
  }

  function applyMap() {
    if (!map) return;
    if (cfg.households.allowed) {
      if (state.layer === "households" && !householdHandle) {
        householdHandle = DP.householdLayer(map, householdOptions());
        householdHandle.layer.addTo(map);
      } else if (state.layer !== "households" && householdHandle) {
        map.removeLayer(householdHandle.layer);
        householdHandle = null;
      }
      if (householdHandle) householdHandle.setCriterion(state.criterion);
      renderHouseholdLegend();
    }
    if (basemap) {
      if (state.basemap === "1" && !map.hasLayer(basemap)) basemap.addTo(map);
      if (state.basemap !== "1" && map.hasLayer(basemap)) map.removeLayer(basemap);
    }
  }

  window.villageMapInit = function (leafletMap) {
    map = leafletMap;
    map.options.zoomSnap = 0.25;
    DP.map = map;
    var container = map.getContainer();
    container.dataset.ready = "0";
    basemap = DP.basemapOf(map);
    if (cfg.households.allowed) {
      householdLegendBox = DP.panelControl(map, "bottomright", "legend household-legend");
      householdLegendBox.id = "household-legend";
      map.on("zoomend", renderHouseholdLegend);
    }
    outline.then(function (feature) {
      var layer = L.geoJSON(feature, {
        interactive: false,
        style: function () { return { color: "#0f5c8c", weight: 3, fillColor: "#0f5c8c", fillOpacity: 0.06 }; }
      }).addTo(map);
      if (layer.getBounds().isValid()) map.fitBounds(layer.getBounds(), { padding: [16, 16] });
      container.dataset.featureCount = "1";
      applyMap();
      container.dataset.ready = "1";
    }).catch(function () {
      notice.hidden = false;
      notice.textContent = S.load_failed;
      container.dataset.ready = "error";
    });
  };

  // ---- target households -------------------------------------------------------------------
  var list = { tab: null, next: null, loading: false };
  var table = document.getElementById("households-table");
  var moreButton = document.getElementById("households-more");
  var tabButtons = Array.prototype.slice.call(document.querySelectorAll("[data-tab]"));

  function sameOriginPath(url) {
    // Cursor links are absolute; only this site's own path and query are followed.
    var parsed = new URL(url, window.location.href);
    return parsed.origin === window.location.origin ? parsed.pathname + parsed.search : null;
  }

  function showOnMap(hh) {
    if (!map || !hh.lokasi) return;
    var latlng = L.latLng(hh.lokasi[1], hh.lokasi[0]);
    if (marker) map.removeLayer(marker);
    marker = L.circleMarker(latlng, { radius: 10, color: "#f2a900", weight: 3, fill: false, interactive: false }).addTo(map);
    map.setView(latlng, Math.max(map.getZoom(), 17));
    map.getContainer().scrollIntoView({ block: "nearest", behavior: "smooth" });
  }

  function householdRow(hh) {
    var actions = DP.h("span", { className: "row-actions" });
    if (hh.lokasi) {
      var locate = DP.h("button", { type: "button", className: "link-button", text: S.show_on_map });
      locate.addEventListener("click", function () { showOnMap(hh); });
      actions.appendChild(locate);
    }
    if (cfg.households.admin && /^[0-9]+$/.test(String(hh.id))) {
      actions.appendChild(DP.h("a", { href: cfg.households.admin.replace("{id}", String(hh.id)), text: S.open_admin }));
    }
    var rtRw = [hh.rt, hh.rw].filter(function (x) { return x; }).join("/");
    var sanitation = hh.tangga_sanitasi == null ? "\u2013"
      : (cfg.sanitationLevels[String(hh.tangga_sanitasi)] || String(hh.tangga_sanitasi));
    return DP.h("tr", { dataset: { id: String(hh.id) } }, [
      DP.h("td", { text: hh.no_kk || S.hidden }),
      DP.h("td", { text: hh.alamat || "\u2013" }),
      DP.h("td", { text: hh.dusun || "\u2013" }),
      DP.h("td", { text: rtRw || "\u2013" }),
      DP.h("td", { className: "num", text: fmt.count(hh.jumlah_anggota) }),
      DP.h("td", { className: "num", text: fmt.count(hh.jumlah_ats) }),
      DP.h("td", { className: "num", text: hh.desil_kesejahteraan == null ? "\u2013" : String(hh.desil_kesejahteraan) }),
      DP.h("td", { text: sanitation }),
      DP.h("td", { text: hh.air_minum_layak == null ? "\u2013" : (hh.air_minum_layak ? S.yes : S.no) }),
      DP.h("td", {}, [actions])
    ]);
  }

  function renderHouseholdHead() {
    var head = DP.clear(table.tHead.rows[0]);
    [[S.no_kk], [S.address], [S.dusun], [S.rt_rw], [S.members, true], [S.ats, true], [S.desil, true],
      [S.sanitation], [S.water], [""]].forEach(function (col) {
      head.appendChild(DP.h("th", { scope: "col", className: col[1] ? "num" : "", text: col[0] }));
    });
  }

  function loadHouseholds(url, append) {
    list.loading = true;
    moreButton.disabled = true;
    var tab = list.tab;
    return DP.getJSON(url).then(function (page) {
      if (tab !== list.tab) return; // another tab was chosen meanwhile
      var body = table.tBodies[0];
      if (!append) DP.clear(body);
      (page.results || []).forEach(function (hh) { body.appendChild(householdRow(hh)); });
      if (!body.rows.length) {
        body.appendChild(DP.h("tr", {}, [DP.h("td", { colspan: "10", text: S.no_households })]));
      }
      list.next = page.next ? sameOriginPath(page.next) : null;
      moreButton.hidden = !list.next;
      table.dataset.rows = String(body.querySelectorAll("tr[data-id]").length);
    }).catch(function () {
      DP.clear(table.tBodies[0]).appendChild(DP.h("tr", {}, [DP.h("td", { colspan: "10", text: S.load_failed })]));
    }).then(function () {
      list.loading = false;
      moreButton.disabled = false;
    });
  }

  function applyTab() {
    if (!table || list.tab === state.tab) return;
    list.tab = state.tab;
    tabButtons.forEach(function (button) {
      var selected = button.dataset.tab === state.tab;
      button.setAttribute("aria-selected", String(selected));
      button.tabIndex = selected ? 0 : -1;
    });
    document.getElementById("targets-panel").setAttribute("aria-labelledby", "tab-" + state.tab);
    delete table.dataset.rows;
    var body = DP.clear(table.tBodies[0]);
    body.appendChild(DP.h("tr", {}, [DP.h("td", { colspan: "10", text: S.loading })]));
    var params = Object.assign({ region: V.code, page_size: PAGE_SIZE }, TABS[state.tab].params);
    loadHouseholds(DP.query(cfg.households.list, params), false);
  }

  if (table) {
    renderHouseholdHead();
    tabButtons.forEach(function (button, index) {
      button.addEventListener("click", function () { setState({ tab: button.dataset.tab }); });
      button.addEventListener("keydown", function (event) {
        var step = event.key === "ArrowRight" ? 1 : event.key === "ArrowLeft" ? -1 : 0;
        if (!step) return;
        var target = tabButtons[(index + step + tabButtons.length) % tabButtons.length];
        target.focus();
        setState({ tab: target.dataset.tab });
      });
    });
    moreButton.addEventListener("click", function () {
      if (list.next && !list.loading) loadHouseholds(list.next, true);
    });
  }

  // ---- controls ----------------------------------------------------------------------------
  var householdToggle = document.getElementById("household-toggle");
  var criterionSelect = document.getElementById("household-criterion");
  var basemapToggle = document.getElementById("basemap-toggle");
  if (householdToggle) {
    householdToggle.addEventListener("change", function () { setState({ layer: householdToggle.checked ? "households" : "" }); });
  }
  if (criterionSelect) {
    criterionSelect.addEventListener("change", function () { setState({ criterion: criterionSelect.value }); });
  }
  if (basemapToggle) {
    basemapToggle.addEventListener("change", function () { setState({ basemap: basemapToggle.checked ? "1" : "0" }); });
  }

  function syncControls() {
    if (householdToggle) householdToggle.checked = state.layer === "households";
    if (criterionSelect) {
      criterionSelect.value = state.criterion;
      criterionSelect.disabled = state.layer !== "households";
    }
    if (basemapToggle) basemapToggle.checked = state.basemap === "1";
  }

  function apply() {
    syncControls();
    applyMap();
    applyTab();
  }

  apply();
  valuesReady.then(renderIndicators, function () {
    notice.hidden = false;
    notice.textContent = S.load_failed;
  });
})();
