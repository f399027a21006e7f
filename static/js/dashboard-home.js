// The map dashboard (home page): choropleth per village or kecamatan, drill-down,
// KPI cards, ranked table, charts and, for the roles allowed, household points.
// The view (indicator, level, area, layer, criterion, basemap) lives in the query string.
(function () {
  "use strict";

  var DP = window.DP;
  var cfg = DP.config();
  if (!cfg || !cfg.kabupaten) return;

  var S = cfg.strings;
  var fmt = DP.formatter(cfg.language);
  var KAB = cfg.kabupaten.code;
  var indicators = {};
  cfg.indicators.forEach(function (ind) { indicators[ind.code] = ind; });
  var kecamatan = {};
  cfg.kecamatan.forEach(function (kec) { kecamatan[kec.code] = kec; });
  var kecCodes = cfg.kecamatan.map(function (kec) { return kec.code; });
  var CHART_INDICATORS = cfg.ladder.concat(cfg.outOfSchool).filter(function (code) { return indicators[code]; });
  var DEFAULTS = {
    indicator: indicators[cfg.defaultIndicator] ? cfg.defaultIndicator : (cfg.indicators[0] || {}).code,
    level: "desa", area: KAB, layer: "", criterion: "tanpa_jamban", basemap: "1"
  };
  var GEOJSON = "application/geo+json";
  var KEYS = ["indicator", "level", "area", "layer", "criterion", "basemap"];

  // ---- state in the URL --------------------------------------------------------------
  function readState() {
    var q = new URLSearchParams(window.location.search);
    var s = {};
    s.indicator = indicators[q.get("indicator")] ? q.get("indicator") : DEFAULTS.indicator;
    s.area = kecamatan[q.get("area")] ? q.get("area") : KAB;
    s.level = s.area === KAB && q.get("level") === "kecamatan" ? "kecamatan" : "desa";
    s.layer = cfg.households.allowed && q.get("layer") === "households" ? "households" : "";
    s.criterion = DP.CRITERIA.indexOf(q.get("criterion")) >= 0 ? q.get("criterion") : DEFAULTS.criterion;
    s.basemap = q.get("basemap") === "0" ? "0" : "1";
    return s;
  }

  function stateUrl(s) {
    var q = new URLSearchParams();
    q.set("indicator", s.indicator);
    q.set("level", s.level);
    if (s.area !== KAB) q.set("area", s.area);
    if (s.layer) { q.set("layer", s.layer); q.set("criterion", s.criterion); }
    if (cfg.basemap.url && s.basemap === "0") q.set("basemap", "0");
    return window.location.pathname + "?" + q.toString();
  }

  var state = readState();

  function setState(patch) {
    var previous = state;
    var next = {};
    KEYS.forEach(function (key) { next[key] = key in patch ? patch[key] : state[key]; });
    if (next.area !== KAB) next.level = "desa";
    state = next;
    var url = stateUrl(state);
    if (url !== window.location.pathname + window.location.search) {
      window.history.pushState(null, "", url);
    }
    update(previous);
  }

  window.addEventListener("popstate", function () {
    var previous = state;
    state = readState();
    syncControls();
    update(previous);
  });

  // ---- data ----------------------------------------------------------------------------
  var values = {}; // indicator -> area code -> row
  var requests = {}; // url -> promise, so that no request is made twice
  var summaryRequested = {}; // indicator -> promise of its kabupaten and kecamatan rows
  var regions = { desa: null, kecamatan: null };

  function valuesUrl(params) {
    params.period = cfg.period;
    return DP.query(cfg.urls.values, params);
  }

  function loadValues(url) {
    if (!requests[url]) {
      requests[url] = DP.getJSON(url).then(function (rows) { DP.indexRows(rows, values); });
      requests[url].catch(function () { delete requests[url]; });
    }
    return requests[url];
  }

  // Village rows of one indicator, and kabupaten + kecamatan rows of it (with the chart
  // indicators on the first call): two requests at most.
  function loadIndicator(code) {
    if (!cfg.valuesAllowed || !cfg.period) return Promise.resolve();
    var jobs = [loadValues(valuesUrl({ indicator: code, parent: KAB, level: "desa" }))];
    var wanted = [code].concat(CHART_INDICATORS).filter(function (c, i, all) {
      return all.indexOf(c) === i && !summaryRequested[c];
    });
    if (wanted.length) {
      var summary = loadValues(valuesUrl({ indicator: wanted.join(","), area: [KAB].concat(kecCodes).join(",") }));
      wanted.forEach(function (c) { summaryRequested[c] = summary; });
    }
    [code].concat(CHART_INDICATORS).forEach(function (c) { jobs.push(summaryRequested[c]); });
    return Promise.all(jobs);
  }

  function loadVillageCharts(kec) {
    if (!cfg.valuesAllowed || !cfg.period) return Promise.resolve();
    return loadValues(valuesUrl({ indicator: CHART_INDICATORS.join(","), parent: kec, level: "desa" }));
  }

  function regionsUrl(params) { return DP.query(cfg.urls.regions, params); }

  // Started at once, before the map exists: the page and the data load side by side.
  var boot = Promise.all([
    DP.getJSON(regionsUrl({ level: "desa", within: KAB, format: "geojson", tolerance: "0.0005" }), GEOJSON)
      .then(function (fc) { regions.desa = fc; }),
    DP.getJSON(regionsUrl({ level: "kecamatan", parent: KAB, format: "geojson", tolerance: "0.001" }), GEOJSON)
      .then(function (fc) { regions.kecamatan = fc; }),
    loadIndicator(state.indicator),
    state.area !== KAB ? loadVillageCharts(state.area) : null
  ]);

  function rowsOf(code) { return values[code] || {}; }

  function villageFeatures(area) {
    return (regions.desa ? regions.desa.features : []).filter(function (f) {
      return f.geometry && (area === KAB || f.properties.parent === area);
    });
  }

  function areaName(code) {
    if (code === KAB) return cfg.kabupaten.name;
    if (kecamatan[code]) return kecamatan[code].name;
    var feature = (regions.desa ? regions.desa.features : []).filter(function (f) { return f.id === code; })[0];
    return feature ? feature.properties.name : code;
  }

  // Areas shown by the current view, with their codes and level.
  function scope() {
    if (state.level === "kecamatan") {
      return { level: "kecamatan", codes: kecCodes.slice() };
    }
    return {
      level: "desa",
      codes: villageFeatures(state.area).map(function (f) { return f.properties.code; })
    };
  }

  // ---- controls ------------------------------------------------------------------------
  var select = document.getElementById("indicator-select");
  var levelButtons = Array.prototype.slice.call(document.querySelectorAll("[data-level]"));
  var householdToggle = document.getElementById("household-toggle");
  var criterionSelect = document.getElementById("household-criterion");
  var basemapToggle = document.getElementById("basemap-toggle");
  var notice = document.getElementById("values-notice");

  (function buildIndicatorSelect() {
    var groups = {};
    cfg.indicators.forEach(function (ind) {
      if (!groups[ind.topic]) {
        groups[ind.topic] = DP.h("optgroup", { label: cfg.topics[ind.topic] || ind.topic });
        select.appendChild(groups[ind.topic]);
      }
      groups[ind.topic].appendChild(DP.h("option", { value: ind.code, text: ind.name }));
    });
  })();

  function syncControls() {
    select.value = state.indicator;
    levelButtons.forEach(function (button) {
      button.setAttribute("aria-pressed", String(button.dataset.level === state.level));
    });
    if (householdToggle) householdToggle.checked = state.layer === "households";
    if (criterionSelect) {
      criterionSelect.value = state.criterion;
      criterionSelect.disabled = state.layer !== "households";
    }
    if (basemapToggle) basemapToggle.checked = state.basemap === "1";
  }

  select.addEventListener("change", function () { setState({ indicator: select.value }); });
  levelButtons.forEach(function (button) {
    button.addEventListener("click", function () {
      setState({ level: button.dataset.level, area: KAB });
    });
  });
  if (householdToggle) {
    householdToggle.addEventListener("change", function () {
      setState({ layer: householdToggle.checked ? "households" : "" });
    });
  }
  if (criterionSelect) {
    criterionSelect.addEventListener("change", function () { setState({ criterion: criterionSelect.value }); });
  }
  if (basemapToggle) {
    basemapToggle.addEventListener("change", function () { setState({ basemap: basemapToggle.checked ? "1" : "0" }); });
  }

  if (!cfg.valuesAllowed || !cfg.period) {
    notice.hidden = false;
    notice.textContent = cfg.valuesAllowed ? S.no_data : S.login_for_values;
  }

  // ---- breadcrumb ------------------------------------------------------------------------
  function renderBreadcrumb() {
    var nav = DP.clear(document.getElementById("breadcrumb"));
    var list = DP.h("ol");
    var atKab = state.area === KAB;
    var kabItem = atKab
      ? DP.h("span", { "aria-current": "page", text: cfg.kabupaten.name })
      : DP.h("button", { type: "button", className: "link-button", text: cfg.kabupaten.name });
    if (!atKab) kabItem.addEventListener("click", function () { setState({ area: KAB, level: "kecamatan" }); });
    list.appendChild(DP.h("li", {}, [kabItem]));
    if (!atKab) {
      list.appendChild(DP.h("li", {}, [DP.h("span", { "aria-current": "page", text: S.kecamatan + " " + areaName(state.area) })]));
    }
    nav.appendChild(list);
    var hint = document.getElementById("map-hint");
    hint.textContent = state.level === "kecamatan" ? S.click_kecamatan : S.click_village;
  }

  // ---- map -----------------------------------------------------------------------------
  var map = null;
  var layers = { areas: null, outline: null, others: null, households: null };
  var householdHandle = null;
  var basemap = null;
  var legendBox = null;
  var householdLegendBox = null;
  var model = null;
  var layerByCode = {};

  function currentModel() {
    var sc = scope();
    return DP.choropleth(indicators[state.indicator], rowsOf(state.indicator),
      sc.level === "desa" ? villageFeatures(KAB).map(function (f) { return f.properties.code; }) : sc.codes);
  }

  function tooltipFor(code, level) {
    var ind = indicators[state.indicator];
    var row = rowsOf(state.indicator)[code];
    var box = DP.h("div", { className: "area-tip" }, [DP.h("strong", { text: areaName(code) })]);
    if (level === "desa") {
      var feature = regions.desa.features.filter(function (f) { return f.id === code; })[0];
      var parent = feature && kecamatan[feature.properties.parent];
      if (parent) box.appendChild(DP.h("div", { className: "tip-sub", text: S.kecamatan + " " + parent.name }));
    }
    if (!cfg.valuesAllowed) {
      box.appendChild(DP.h("div", { text: S.login_for_values }));
      return box;
    }
    box.appendChild(DP.h("div", { className: "tip-ind", text: ind.name }));
    if (DP.isSuppressed(row)) {
      box.appendChild(DP.h("div", { className: "tip-value", text: S.suppressed }));
      box.appendChild(DP.h("div", { className: "tip-sub", text: S.suppressed_hint }));
    } else if (!DP.hasValue(row)) {
      box.appendChild(DP.h("div", { className: "tip-value", text: S.no_data }));
    } else {
      box.appendChild(DP.h("div", { className: "tip-value", text: fmt.value(ind, row.value) }));
      if (ind.ratio) {
        box.appendChild(DP.h("div", {
          className: "tip-sub",
          text: S.numerator + " " + fmt.count(row.numerator) + " / " + S.denominator + " " + fmt.count(row.denominator)
        }));
      }
    }
    return box;
  }

  function fillOpacity() { return state.layer === "households" ? 0.5 : 0.85; }

  function styleArea(feature) {
    return {
      fillColor: model.colorOf(rowsOf(state.indicator)[feature.properties.code]),
      fillOpacity: cfg.valuesAllowed ? fillOpacity() : 0.35,
      color: "#ffffff", weight: feature.properties.level === "kecamatan" ? 2 : 1, opacity: 1
    };
  }

  var hovered = null;

  function highlight(layer) {
    // Once per area: bringToFront re-inserts the path, and the browser then reports
    // the pointer entering it again; re-inserting every time loops and eats clicks.
    if (hovered === layer) return;
    if (hovered) unhighlight(hovered);
    hovered = layer;
    layer.setStyle({ weight: 3, color: "#1d2733" });
    layer.bringToFront();
    if (layers.outline) layers.outline.bringToFront();
  }

  function unhighlight(layer) {
    if (hovered === layer) hovered = null;
    if (layers.areas && layers.areas.hasLayer(layer)) layers.areas.resetStyle(layer);
  }

  function onAreaClick(props) {
    if (props.level === "kecamatan") {
      setState({ area: props.code, level: "desa" });
    } else if (DP.isCode(props.code)) {
      window.location.href = cfg.urls.village.replace("CODE", props.code) +
        "?indicator=" + encodeURIComponent(state.indicator);
    }
  }

  function drawAreas() {
    hovered = null;
    ["areas", "outline", "others"].forEach(function (key) {
      if (layers[key]) { map.removeLayer(layers[key]); layers[key] = null; }
    });
    layerByCode = {};
    var sc = scope();
    var kecFeatures = regions.kecamatan ? regions.kecamatan.features.filter(function (f) { return f.geometry; }) : [];
    var features = sc.level === "kecamatan" ? kecFeatures : villageFeatures(state.area);

    if (state.area !== KAB) {
      // The other kecamatan, faint: a click moves there.
      layers.others = L.geoJSON({ type: "FeatureCollection", features: kecFeatures.filter(function (f) { return f.id !== state.area; }) }, {
        style: function () { return { fillColor: "#c9d1da", fillOpacity: 0.35, color: "#ffffff", weight: 1.5 }; },
        onEachFeature: function (feature, layer) {
          layer.bindTooltip(function () {
            return DP.h("div", { className: "area-tip" }, [DP.h("strong", { text: S.kecamatan + " " + feature.properties.name })]);
          }, { sticky: true, direction: "top" });
          layer.on("click", function () { setState({ area: feature.properties.code, level: "desa" }); });
        }
      }).addTo(map);
    }

    layers.areas = L.geoJSON({ type: "FeatureCollection", features: features }, {
      style: styleArea,
      onEachFeature: function (feature, layer) {
        layerByCode[feature.properties.code] = layer;
        layer.bindTooltip(function () { return tooltipFor(feature.properties.code, sc.level); },
          { sticky: true, direction: "top", className: "area-tooltip" });
        layer.on({
          mouseover: function () { highlight(layer); },
          mouseout: function () { unhighlight(layer); },
          click: function () { onAreaClick(feature.properties); }
        });
      }
    }).addTo(map);

    if (sc.level === "desa") {
      // Kecamatan borders over the villages, for orientation only.
      layers.outline = L.geoJSON({
        type: "FeatureCollection",
        features: kecFeatures.filter(function (f) { return state.area === KAB || f.id === state.area; })
      }, {
        interactive: false,
        style: function () { return { fill: false, color: "#26323f", weight: 2, opacity: 0.8 }; }
      }).addTo(map);
    }
    var container = map.getContainer();
    container.dataset.featureCount = String(features.length);
    container.dataset.level = sc.level;
    container.dataset.area = state.area;
  }

  function fitArea() {
    var target = layers.areas;
    if (state.area !== KAB && regions.kecamatan) {
      var kec = regions.kecamatan.features.filter(function (f) { return f.id === state.area; })[0];
      if (kec && kec.geometry) target = L.geoJSON(kec);
    }
    if (!target || !target.getBounds().isValid()) return false;
    map.fitBounds(target.getBounds(), { padding: [12, 12] });
    return true;
  }

  function updateHouseholds(previous) {
    if (!cfg.households.allowed || !map) return;
    var wanted = state.layer === "households";
    var regionChanged = previous && previous.area !== state.area;
    if (layers.households && (!wanted || regionChanged)) {
      map.removeLayer(layers.households);
      layers.households = null;
      householdHandle = null;
    }
    if (wanted && !layers.households) {
      householdHandle = DP.householdLayer(map, {
        tiles: cfg.households.tiles,
        filters: { region: state.area !== KAB ? state.area : "" },
        criterion: state.criterion,
        strings: S, fmt: fmt,
        detail: cfg.households.detail, admin: cfg.households.admin,
        village: cfg.urls.village, sanitationLevels: cfg.sanitationLevels
      });
      layers.households = householdHandle.layer.addTo(map);
    }
    if (householdHandle) householdHandle.setCriterion(state.criterion);
    renderHouseholdLegend();
  }

  function renderHouseholdLegend() {
    if (!householdLegendBox) return;
    householdLegendBox.hidden = state.layer !== "households";
    if (state.layer === "households") {
      DP.renderHouseholdLegend(householdLegendBox, state.criterion, map.getZoom(), S);
    }
  }

  function updateBasemap() {
    if (!basemap) return;
    var wanted = state.basemap === "1";
    if (wanted && !map.hasLayer(basemap)) basemap.addTo(map);
    if (!wanted && map.hasLayer(basemap)) map.removeLayer(basemap);
  }

  function renderMap(previous) {
    if (!map || !regions.desa) return;
    var scopeChanged = !previous || previous.area !== state.area || previous.level !== state.level;
    var container = map.getContainer();
    container.dataset.ready = "0";
    drawAreas();
    if (cfg.valuesAllowed) {
      legendBox.hidden = false;
      DP.renderLegend(legendBox, model, fmt, S);
    } else {
      legendBox.hidden = true;
    }
    updateBasemap();
    container.dataset.indicator = state.indicator;
    // Household tiles are asked for once the map has settled on the area (the zoom is
    // animated), not for the view it is leaving.
    var settle = function () {
      updateHouseholds(previous);
      container.dataset.ready = "1";
    };
    if (!scopeChanged) {
      settle();
      return;
    }
    map.once("moveend", settle);
    if (!fitArea()) {
      map.off("moveend", settle);
      settle();
    }
  }

  window.dashboardMapInit = function (leafletMap) {
    map = leafletMap;
    // Quarter zoom steps: the long kabupaten fills the frame instead of a third of it.
    map.options.zoomSnap = 0.25;
    DP.map = map; // for the browser tests and the console
    map.getContainer().dataset.ready = "0";
    basemap = DP.basemapOf(map);
    legendBox = DP.panelControl(map, "bottomright", "legend");
    legendBox.id = "map-legend";
    householdLegendBox = DP.panelControl(map, "topright", "legend household-legend");
    householdLegendBox.id = "household-legend";
    householdLegendBox.hidden = true;
    map.on("zoomend", renderHouseholdLegend);
    boot.then(function () {
      model = model || currentModel();
      renderMap(null);
    }, showFailure);
  };

  // ---- KPI cards ---------------------------------------------------------------------
  function renderKpis() {
    var area = state.area;
    var totals = area === KAB ? cfg.totals : kecamatan[area];
    document.getElementById("kpi-households").textContent = fmt.count(totals.households);
    document.getElementById("kpi-people").textContent = fmt.count(totals.members);
    document.getElementById("kpi-households-area").textContent = areaName(area);
    document.getElementById("kpi-people-area").textContent = areaName(area);

    var ind = indicators[state.indicator];
    var rows = rowsOf(state.indicator);
    var row = rows[area];
    var nameNode = document.getElementById("kpi-indicator-name");
    nameNode.textContent = ind.name + " \u00b7 " + areaName(area);
    nameNode.title = ind.description || "";
    var valueNode = document.getElementById("kpi-indicator-value");
    var sub = document.getElementById("kpi-indicator-sub");
    var compare = DP.clear(document.getElementById("kpi-indicator-compare"));
    if (!cfg.valuesAllowed) {
      valueNode.textContent = "\u2013";
      sub.textContent = S.login_for_values;
      return;
    }
    valueNode.textContent = DP.isSuppressed(row) ? S.suppressed : fmt.value(ind, row && row.value);
    sub.textContent = DP.hasValue(row) && ind.ratio
      ? fmt.count(row.numerator) + " / " + fmt.count(row.denominator) : "";
    if (area !== KAB && DP.hasValue(rows[KAB])) {
      compare.appendChild(document.createTextNode(S.vs_kabupaten + ": " + fmt.value(ind, rows[KAB].value)));
    }
    // The worst village of the area, where the indicator judges.
    if (DP.isJudged(ind)) {
      var order = DP.worseFirst(ind);
      var worst = villageFeatures(area).map(function (f) { return rows[f.properties.code]; })
        .filter(DP.hasValue).sort(function (a, b) { return order(a.value, b.value); })[0];
      if (worst) {
        if (compare.firstChild) compare.appendChild(DP.h("br"));
        compare.appendChild(document.createTextNode(S.worst + ": " + worst.area_name + " (" + fmt.value(ind, worst.value) + ")"));
      }
    }
  }

  // ---- ranked table --------------------------------------------------------------------
  var sort = { key: "rank", dir: 1 };

  function renderTable() {
    var table = document.getElementById("ranked-table");
    var ind = indicators[state.indicator];
    var sc = scope();
    var rows = rowsOf(state.indicator);
    var showKec = sc.level === "desa" && state.area === KAB;
    var title = document.getElementById("ranked-title");
    title.textContent = (sc.level === "kecamatan" ? S.kecamatan : S.village) + " \u00b7 " + ind.name +
      (state.area !== KAB ? " \u00b7 " + S.kecamatan + " " + areaName(state.area) : "");

    var order = DP.worseFirst(ind);
    var items = sc.codes.map(function (code) {
      var row = rows[code];
      var feature = sc.level === "desa" ? regions.desa.features.filter(function (f) { return f.id === code; })[0] : null;
      return {
        code: code,
        name: areaName(code),
        kec: feature && kecamatan[feature.properties.parent] ? kecamatan[feature.properties.parent].name : "",
        row: row,
        value: DP.hasValue(row) ? row.value : null,
        numerator: DP.hasValue(row) ? row.numerator : null,
        denominator: DP.hasValue(row) ? row.denominator : null
      };
    });
    items.filter(function (it) { return it.value !== null; })
      .sort(function (a, b) { return order(a.value, b.value); })
      .forEach(function (it, i) { it.rank = i + 1; });

    var columns = [
      { key: "rank", label: "#", title: S.rank, num: true },
      { key: "name", label: sc.level === "kecamatan" ? S.kecamatan : S.village }
    ];
    if (cfg.valuesAllowed) columns.push({ key: "value", label: S.value + (ind.unit ? " (" + ind.unit + ")" : ""), num: true });
    if (ind.ratio && cfg.valuesAllowed) {
      columns.push({ key: "numerator", label: S.numerator, num: true });
      columns.push({ key: "denominator", label: S.denominator, num: true });
    }
    if (!columns.some(function (c) { return c.key === sort.key; })) sort = { key: "rank", dir: 1 };

    var headRow = DP.clear(table.tHead.rows[0]);
    columns.forEach(function (col) {
      var active = sort.key === col.key;
      var button = DP.h("button", { type: "button", className: "sort", title: S.sort_by + " " + (col.title || col.label) }, [col.label,
        DP.h("span", { className: "sort-mark", "aria-hidden": "true", text: active ? (sort.dir > 0 ? " \u25b2" : " \u25bc") : "" })]);
      button.addEventListener("click", function () {
        sort = { key: col.key, dir: sort.key === col.key ? -sort.dir : 1 };
        renderTable();
      });
      headRow.appendChild(DP.h("th", {
        scope: "col", className: col.num ? "num" : "",
        "aria-sort": active ? (sort.dir > 0 ? "ascending" : "descending") : "none"
      }, [button]));
    });

    var key = sort.key;
    items.sort(function (a, b) {
      var x = a[key];
      var y = b[key];
      if (x === null || x === undefined) return (y === null || y === undefined) ? 0 : 1;
      if (y === null || y === undefined) return -1;
      return (typeof x === "string" ? x.localeCompare(y) : x - y) * sort.dir;
    });

    var body = DP.clear(table.tBodies[0]);
    items.forEach(function (it) {
      var nameCell;
      if (sc.level === "kecamatan") {
        nameCell = DP.h("button", { type: "button", className: "link-button", text: it.name });
        nameCell.addEventListener("click", function () { setState({ area: it.code, level: "desa" }); });
      } else {
        nameCell = DP.h("a", { href: cfg.urls.village.replace("CODE", it.code) + "?indicator=" + encodeURIComponent(state.indicator), text: it.name });
      }
      var valueText = DP.isSuppressed(it.row) ? S.suppressed : (it.value === null ? S.no_data : fmt.value(ind, it.value));
      var cells = [
        DP.h("td", { className: "num", text: it.rank || "\u2013" }),
        DP.h("td", {}, [nameCell, showKec && it.kec ? DP.h("span", { className: "cell-sub", text: it.kec }) : null])
      ];
      if (cfg.valuesAllowed) {
        cells.push(DP.h("td", { className: "num" }, [model ? DP.swatch(model.colorOf(it.row)) : null, valueText]));
      }
      if (ind.ratio && cfg.valuesAllowed) {
        cells.push(DP.h("td", { className: "num", text: fmt.count(it.numerator) }));
        cells.push(DP.h("td", { className: "num", text: fmt.count(it.denominator) }));
      }
      var tr = DP.h("tr", { dataset: { code: it.code } }, cells);
      tr.addEventListener("mouseenter", function () { if (layerByCode[it.code]) highlight(layerByCode[it.code]); });
      tr.addEventListener("mouseleave", function () { if (layerByCode[it.code]) unhighlight(layerByCode[it.code]); });
      body.appendChild(tr);
    });
    table.dataset.rows = String(items.length);
  }

  // ---- charts --------------------------------------------------------------------------
  var charts = { ladder: null, ats: null };
  // ColorBrewer RdYlBu (colour-blind safe), worst rung red to best blue.
  var LADDER_COLORS = ["#d7191c", "#fdae61", "#ffffbf", "#abd9e9", "#2c7bb6"];
  var ATS_COLORS = ["#9ecae1", "#4292c6", "#08519c"]; // ColorBrewer Blues

  function chartAreas() {
    var list = [];
    if (state.area === KAB) {
      kecCodes.forEach(function (code) { list.push({ code: code, label: kecamatan[code].name }); });
    } else {
      villageFeatures(state.area).forEach(function (f) { list.push({ code: f.properties.code, label: f.properties.name }); });
      list.push({ code: state.area, label: S.kecamatan + " " + kecamatan[state.area].name });
    }
    list.push({ code: KAB, label: S.kabupaten });
    return list;
  }

  function chartTooltip(item) {
    var row = item.dataset.rows[item.dataIndex];
    if (DP.isSuppressed(row)) return item.dataset.label + ": " + S.suppressed;
    if (!DP.hasValue(row)) return item.dataset.label + ": " + S.no_data;
    return item.dataset.label + ": " + fmt.percent(row.value) + " (" + fmt.count(row.numerator) + " / " + fmt.count(row.denominator) + ")";
  }

  function datasetsFor(codes, labels, colors, areas) {
    return codes.filter(function (code) { return indicators[code]; }).map(function (code, i) {
      var rows = areas.map(function (a) { return rowsOf(code)[a.code]; });
      return {
        label: labels[i], backgroundColor: colors[i], borderColor: "#6b7280", borderWidth: 0.5,
        data: rows.map(function (r) { return DP.hasValue(r) ? r.value : null; }), rows: rows
      };
    });
  }

  function renderCharts() {
    if (!window.Chart) return;
    var section = document.querySelector(".charts");
    if (!cfg.valuesAllowed || !cfg.period) { section.hidden = true; return; }
    var areas = chartAreas();
    var labels = areas.map(function (a) { return a.label; });
    var ladderLabels = cfg.ladder.map(function (code, i) { return cfg.sanitationLevels[String(i)] || code; });
    var ladderBox = document.getElementById("ladder-chart").parentNode;
    ladderBox.style.height = Math.max(220, 26 * areas.length + 90) + "px";
    var common = {
      responsive: true, maintainAspectRatio: false, animation: false,
      plugins: { tooltip: { callbacks: { label: chartTooltip } }, legend: { position: "bottom", labels: { boxWidth: 14 } } }
    };
    if (charts.ladder) charts.ladder.destroy();
    charts.ladder = new window.Chart(document.getElementById("ladder-chart"), {
      type: "bar",
      data: { labels: labels, datasets: datasetsFor(cfg.ladder, ladderLabels, LADDER_COLORS, areas) },
      options: Object.assign({}, common, {
        indexAxis: "y",
        scales: {
          x: { stacked: true, min: 0, max: 100, title: { display: true, text: S.share_households } },
          y: { stacked: true, ticks: { autoSkip: false } }
        }
      })
    });
    var atsBox = document.getElementById("ats-chart").parentNode;
    atsBox.style.height = Math.max(220, 26 * areas.length + 90) + "px";
    if (charts.ats) charts.ats.destroy();
    charts.ats = new window.Chart(document.getElementById("ats-chart"), {
      type: "bar",
      data: {
        labels: labels,
        datasets: datasetsFor(cfg.outOfSchool, cfg.outOfSchool.map(function (c) { return S[c] || c; }), ATS_COLORS, areas)
      },
      options: Object.assign({}, common, {
        indexAxis: "y",
        scales: { x: { min: 0, title: { display: true, text: S.share_children } }, y: { ticks: { autoSkip: false } } }
      })
    });
    section.dataset.ready = "1";
  }

  // ---- orchestration -------------------------------------------------------------------
  function showFailure() {
    notice.hidden = false;
    notice.textContent = S.load_failed;
    if (map) map.getContainer().dataset.ready = "error";
  }

  function renderAll(previous) {
    model = currentModel();
    renderBreadcrumb();
    renderMap(previous);
    renderKpis();
    renderTable();
    renderCharts();
  }

  var pending = 0;
  function update(previous) {
    var busy = document.querySelector(".dash-grid");
    pending += 1;
    busy.classList.add("is-loading");
    if (map) map.getContainer().dataset.ready = "0";
    Promise.all([
      boot,
      loadIndicator(state.indicator),
      state.area !== KAB ? loadVillageCharts(state.area) : null
    ]).then(function () {
      renderAll(previous);
    }, showFailure).then(function () {
      pending -= 1;
      if (!pending) busy.classList.remove("is-loading");
    });
  }

  syncControls();
  renderBreadcrumb();
  boot.then(function () {
    model = currentModel();
    renderKpis();
    renderTable();
    renderCharts();
  }, showFailure);
})();
