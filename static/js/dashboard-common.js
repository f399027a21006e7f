// Shared pieces of the dashboard pages (home and village page), as window.DP.
// Rules: text from the API only ever reaches the page through textContent or DOM APIs
// (never innerHTML), no inline handlers and no style attributes in markup (the
// Content-Security-Policy forbids them); element.style set from here is fine.
(function () {
  "use strict";

  var DP = (window.DP = window.DP || {});
  var CODE_RE = /^[0-9]{2}(\.[0-9]{2}(\.[0-9]{2}(\.[0-9]{4})?)?)?$/;

  DP.isCode = function (value) {
    return typeof value === "string" && CODE_RE.test(value);
  };

  DP.config = function () {
    var node = document.getElementById("dashboard-config");
    return node ? JSON.parse(node.textContent) : null;
  };

  // DP.h("td", {className: "num", text: "12"}, [child, "text", ...]) builds an element.
  DP.h = function (tag, props, children) {
    var node = document.createElement(tag);
    Object.keys(props || {}).forEach(function (key) {
      var value = props[key];
      if (value === null || value === undefined || value === false) return;
      if (key === "className") node.className = value;
      else if (key === "text") node.textContent = String(value);
      else if (key === "dataset") {
        Object.keys(value).forEach(function (name) { node.dataset[name] = value[name]; });
      } else node.setAttribute(key, value === true ? "" : String(value));
    });
    (children || []).forEach(function (child) {
      if (child === null || child === undefined || child === false) return;
      node.appendChild(child instanceof Node ? child : document.createTextNode(String(child)));
    });
    return node;
  };

  DP.clear = function (node) {
    while (node.firstChild) node.removeChild(node.firstChild);
    return node;
  };

  DP.query = function (base, params) {
    var search = new URLSearchParams();
    Object.keys(params || {}).forEach(function (key) {
      var value = params[key];
      if (value !== null && value !== undefined && value !== "") search.set(key, value);
    });
    var text = search.toString();
    return text ? base + (base.indexOf("?") >= 0 ? "&" : "?") + text : base;
  };

  DP.getJSON = function (url, accept) {
    var headers = { Accept: accept || "application/json" };
    return fetch(url, { credentials: "same-origin", headers: headers })
      .then(function (response) {
        if (!response.ok) {
          var error = new Error("HTTP " + response.status);
          error.status = response.status;
          throw error;
        }
        return response.json();
      });
  };

  // Rows of /indicators/values/ keyed by indicator, then by area code.
  DP.indexRows = function (rows, into) {
    var index = into || {};
    rows.forEach(function (row) {
      (index[row.indicator] = index[row.indicator] || {})[row.area_code] = row;
    });
    return index;
  };

  DP.isSuppressed = function (row) {
    return Boolean(row && row.suppressed);
  };

  DP.hasValue = function (row) {
    return Boolean(row) && !row.suppressed && typeof row.value === "number" && isFinite(row.value);
  };

  // ---- numbers ---------------------------------------------------------------------
  DP.formatter = function (language) {
    var locale = language && language.indexOf("en") === 0 ? "en-GB" : "id-ID";
    var cache = {};
    function nf(digits) {
      if (!cache[digits]) {
        cache[digits] = new Intl.NumberFormat(locale, {
          minimumFractionDigits: digits, maximumFractionDigits: digits
        });
      }
      return cache[digits];
    }
    return {
      count: function (value) {
        return typeof value === "number" && isFinite(value) ? nf(0).format(value) : "\u2013";
      },
      // An indicator value with its unit: "12,3 %", "3,85", "1.234".
      value: function (indicator, value) {
        if (typeof value !== "number" || !isFinite(value)) return "\u2013";
        if (indicator.unit === "%") return nf(1).format(value) + "\u00a0%";
        if (!indicator.ratio) return nf(0).format(value);
        return nf(2).format(value);
      },
      percent: function (value) {
        return typeof value === "number" && isFinite(value) ? nf(1).format(value) + "\u00a0%" : "\u2013";
      },
      coord: function (value) { return nf(5).format(value); }
    };
  };

  // ---- classes and colours -----------------------------------------------------------
  // ColorBrewer sequential schemes, all marked colour-blind safe by ColorBrewer:
  // YlOrRd for indicators that judge (darker = worse), YlGnBu for plain counts.
  var PALETTES = {
    judged: {
      3: ["#ffeda0", "#feb24c", "#f03b20"],
      4: ["#ffffb2", "#fecc5c", "#fd8d3c", "#e31a1c"],
      5: ["#ffffb2", "#fecc5c", "#fd8d3c", "#f03b20", "#bd0026"]
    },
    neutral: {
      3: ["#edf8b1", "#7fcdbb", "#2c7fb8"],
      4: ["#ffffcc", "#a1dab4", "#41b6c4", "#225ea8"],
      5: ["#ffffcc", "#a1dab4", "#41b6c4", "#2c7fb8", "#253494"]
    }
  };
  DP.SUPPRESSED_COLOR = "#9aa1ab";
  DP.NO_DATA_COLOR = "#e9ecf0";

  DP.isJudged = function (indicator) { return indicator.unit === "%"; };

  // Up to `maxClasses` quantile classes; class i holds values in (t[i-1], t[i]].
  DP.classify = function (values, maxClasses) {
    var sorted = values.filter(function (v) { return typeof v === "number" && isFinite(v); })
      .sort(function (a, b) { return a - b; });
    var n = sorted.length;
    if (!n) return { thresholds: [], count: 0 };
    var k = Math.min(maxClasses, n);
    var thresholds = [];
    for (var i = 1; i < k; i++) {
      var t = sorted[Math.ceil((i * n) / k) - 1];
      var last = thresholds[thresholds.length - 1];
      if (t < sorted[n - 1] && (last === undefined || t > last)) thresholds.push(t);
    }
    return { thresholds: thresholds, count: thresholds.length + 1 };
  };

  DP.classOf = function (classes, value) {
    var i = 0;
    while (i < classes.thresholds.length && value > classes.thresholds[i]) i++;
    return i;
  };

  DP.palette = function (indicator, count) {
    var family = DP.isJudged(indicator) ? PALETTES.judged : PALETTES.neutral;
    var colors;
    if (count <= 1) colors = [family[3][1]];
    else if (count === 2) colors = [family[3][0], family[3][2]];
    else colors = family[Math.min(count, 5)].slice();
    // Darker always means worse: when higher is better, low values get the dark end.
    if (indicator.higher_is_better) colors.reverse();
    return colors;
  };

  // A choropleth of one indicator over rows {area_code: row}, limited to `codes`.
  DP.choropleth = function (indicator, rowsByArea, codes) {
    var rows = codes.map(function (code) { return rowsByArea[code]; });
    var classes = DP.classify(rows.filter(DP.hasValue).map(function (r) { return r.value; }), 5);
    var colors = DP.palette(indicator, classes.count);
    var stats = colors.map(function () { return { min: Infinity, max: -Infinity, n: 0 }; });
    var suppressed = 0;
    var missing = 0;
    rows.forEach(function (row) {
      if (DP.isSuppressed(row)) { suppressed += 1; return; }
      if (!DP.hasValue(row)) { missing += 1; return; }
      var s = stats[DP.classOf(classes, row.value)];
      s.min = Math.min(s.min, row.value);
      s.max = Math.max(s.max, row.value);
      s.n += 1;
    });
    return {
      indicator: indicator,
      classes: classes,
      colors: colors,
      stats: stats,
      suppressed: suppressed,
      missing: missing,
      colorOf: function (row) {
        if (DP.isSuppressed(row)) return DP.SUPPRESSED_COLOR;
        if (!DP.hasValue(row)) return DP.NO_DATA_COLOR;
        return colors[DP.classOf(classes, row.value)];
      }
    };
  };

  DP.swatch = function (color, extraClass) {
    var node = DP.h("span", { className: "swatch" + (extraClass ? " " + extraClass : ""), "aria-hidden": "true" });
    node.style.backgroundColor = color;
    return node;
  };

  // The classed legend of a choropleth into `box` (a plain element).
  DP.renderLegend = function (box, model, fmt, S) {
    DP.clear(box);
    var ind = model.indicator;
    box.appendChild(DP.h("div", { className: "legend-title", text: ind.name }));
    box.appendChild(DP.h("div", { className: "legend-sub", text: ind.unit + " \u00b7 " + S.legend_quantile }));
    var list = DP.h("ul", { className: "legend-classes" });
    model.stats.forEach(function (s, i) {
      if (!s.n) return;
      var label = s.min === s.max ? fmt.value(ind, s.min)
        : fmt.value(ind, s.min) + " \u2013 " + fmt.value(ind, s.max);
      list.appendChild(DP.h("li", { dataset: { color: model.colors[i] } }, [
        DP.swatch(model.colors[i]), DP.h("span", { text: label }),
        DP.h("span", { className: "legend-n", text: "(" + s.n + ")" })
      ]));
    });
    if (model.suppressed) {
      list.appendChild(DP.h("li", { className: "legend-suppressed", title: S.suppressed_hint }, [
        DP.swatch(DP.SUPPRESSED_COLOR, "swatch-suppressed"), DP.h("span", { text: S.suppressed }),
        DP.h("span", { className: "legend-n", text: "(" + model.suppressed + ")" })
      ]));
    }
    if (model.missing) {
      list.appendChild(DP.h("li", {}, [
        DP.swatch(DP.NO_DATA_COLOR, "swatch-nodata"), DP.h("span", { text: S.no_data }),
        DP.h("span", { className: "legend-n", text: "(" + model.missing + ")" })
      ]));
    }
    box.appendChild(list);
    box.appendChild(DP.h("div", {
      className: "legend-note",
      text: DP.isJudged(ind) ? S.darker_worse : S.darker_more
    }));
    box.dataset.classes = String(model.stats.filter(function (s) { return s.n; }).length);
  };

  // "Worse first" ordering of values of an indicator.
  DP.worseFirst = function (indicator) {
    var sign = indicator.higher_is_better ? 1 : -1;
    return function (a, b) { return sign * (a - b); };
  };

  // ---- household points (vector tiles) -----------------------------------------------
  var SHARE_COLORS = ["#f2f0f7", "#cbc9e2", "#9e9ac8", "#6a51a3"]; // ColorBrewer Purples
  var SHARE_STEPS = [0.1, 0.25, 0.5];
  var CRITERIA = {
    tanpa_jamban: {
      point: function (p) { return p.tanpa_jamban === true || p.tanpa_jamban === 1; },
      cluster: "tanpa_jamban"
    },
    ats: { point: function (p) { return p.jumlah_ats > 0; }, cluster: "ada_ats" },
    desil: {
      point: function (p) { return typeof p.desil_kesejahteraan === "number" && p.desil_kesejahteraan <= 4; },
      cluster: "desil_1_4"
    }
  };
  DP.CRITERIA = Object.keys(CRITERIA);

  function shareClass(share) {
    var i = 0;
    while (i < SHARE_STEPS.length && share >= SHARE_STEPS[i]) i++;
    return i;
  }

  function householdStyle(props, criterion) {
    var rule = CRITERIA[criterion] || CRITERIA.tanpa_jamban;
    if (props.count !== undefined) {
      var share = props.count ? (props[rule.cluster] || 0) / props.count : 0;
      return {
        // Cells are 8 px apart: small radii keep neighbouring clusters apart.
        radius: Math.max(2.5, Math.min(7, 2 + Math.sqrt(props.count) * 0.55)),
        fill: true, fillColor: SHARE_COLORS[shareClass(share)], fillOpacity: 0.95,
        color: "#3f2a6b", weight: 0.7, opacity: 0.85
      };
    }
    return rule.point(props)
      ? { radius: 5, fill: true, fillColor: "#54278f", fillOpacity: 1, color: "#ffffff", weight: 1.5, opacity: 1 }
      : { radius: 3.5, fill: true, fillColor: "#ffffff", fillOpacity: 0.95, color: "#4b5563", weight: 1, opacity: 0.9 };
  }

  function householdPopup(map, latlng, id, options) {
    var S = options.strings;
    var body = DP.h("div", { className: "hh-popup" }, [DP.h("p", { text: S.loading })]);
    var popup = L.popup({ maxWidth: 300, minWidth: 220 }).setLatLng(latlng).setContent(body).openOn(map);
    DP.getJSON(options.detail.replace("{id}", encodeURIComponent(id))).then(function (hh) {
      var head = (hh.members || []).filter(function (m) { return m.hubungan_keluarga === 1; })[0];
      var fmt = options.fmt;
      var rows = [
        [S.head, head && head.nama ? head.nama : S.hidden],
        [S.members, fmt.count(hh.jumlah_anggota)],
        [S.ats, fmt.count(hh.jumlah_ats)],
        [S.desil, hh.desil_kesejahteraan == null ? "\u2013" : String(hh.desil_kesejahteraan)],
        [S.sanitation, hh.tangga_sanitasi == null ? "\u2013"
          : (options.sanitationLevels[String(hh.tangga_sanitasi)] || String(hh.tangga_sanitasi))],
        [S.coordinates, hh.lokasi ? fmt.coord(hh.lokasi[1]) + ", " + fmt.coord(hh.lokasi[0]) : "\u2013"]
      ];
      if (hh.no_kk) rows.splice(1, 0, [S.no_kk, hh.no_kk]);
      var list = DP.h("dl", { className: "hh-facts" });
      rows.forEach(function (pair) {
        list.appendChild(DP.h("dt", { text: pair[0] }));
        list.appendChild(DP.h("dd", { text: pair[1] }));
      });
      var links = DP.h("p", { className: "hh-links" });
      if (options.admin && /^[0-9]+$/.test(String(hh.id))) {
        links.appendChild(DP.h("a", { href: options.admin.replace("{id}", String(hh.id)), text: S.open_admin }));
      }
      if (options.village && DP.isCode(hh.region) && hh.region !== options.currentVillage) {
        links.appendChild(DP.h("a", { href: options.village.replace("CODE", hh.region), text: S.open_village }));
      }
      DP.clear(body);
      body.appendChild(list);
      if (links.childNodes.length) body.appendChild(links);
      popup.update();
    }).catch(function () {
      DP.clear(body).appendChild(DP.h("p", { text: S.load_failed }));
    });
  }

  // Leaflet.VectorGrid 1.3.0 with Leaflet 1.9: point symbolizers inherit getLatLng()
  // without a position, so Leaflet fails on every pointer event over a point
  // (upstream issue #148, fixed by #157 after the 1.3.0 release). Without the method
  // Leaflet takes the position from the mouse event.
  function patchVectorGrid() {
    var proto = L.VectorGrid.prototype;
    if (proto._dpPointPatch) return;
    var create = proto._createLayer;
    proto._createLayer = function () {
      var layer = create.apply(this, arguments);
      if (layer && layer.getLatLng && !layer._latlng) layer.getLatLng = null;
      return layer;
    };
    proto._dpPointPatch = true;
  }

  // A household layer: clusters up to zoom 13, one point per household beyond.
  // options: tiles, filters {name: value}, criterion, strings, fmt, detail, admin, village.
  DP.householdLayer = function (map, options) {
    patchVectorGrid();
    if (!map.getPane("households")) {
      var pane = map.createPane("households");
      pane.style.zIndex = 450;
      pane.classList.add("households-pane");
    }
    var state = { criterion: options.criterion };
    var layer = L.vectorGrid.protobuf(DP.query(options.tiles, options.filters), {
      pane: "households",
      // SVG tiles: only the drawn symbols catch the pointer, so the areas below stay
      // clickable (and the canvas renderer needs L.DomEvent.fakeStop, gone in Leaflet 1.8+).
      rendererFactory: L.svg.tile,
      interactive: true,
      maxNativeZoom: 18,
      fetchOptions: { credentials: "same-origin" },
      vectorTileLayerStyles: {
        households: function (props) { return householdStyle(props, state.criterion); }
      }
    });
    layer.on("click", function (event) {
      var props = (event.layer && event.layer.properties) || {};
      if (event.originalEvent) L.DomEvent.stopPropagation(event.originalEvent);
      if (props.count !== undefined) {
        map.setView(event.latlng, Math.min(map.getZoom() + 2, 14));
      } else if (props.id !== undefined && options.detail) {
        householdPopup(map, event.latlng, props.id, options);
      }
    });
    return {
      layer: layer,
      setCriterion: function (criterion) {
        if (criterion === state.criterion) return;
        state.criterion = criterion;
        layer.redraw();
      }
    };
  };

  DP.renderHouseholdLegend = function (box, criterion, zoom, S) {
    DP.clear(box);
    box.appendChild(DP.h("div", { className: "legend-title", text: S.household_points + ": " + S["criterion_" + criterion] }));
    var list = DP.h("ul", { className: "legend-classes" });
    if (zoom <= 13) {
      box.appendChild(DP.h("div", { className: "legend-sub", text: S.cluster_share }));
      var labels = ["< 10 %", "10\u201325 %", "25\u201350 %", "\u2265 50 %"];
      SHARE_COLORS.forEach(function (color, i) {
        list.appendChild(DP.h("li", {}, [DP.swatch(color, "swatch-round"), DP.h("span", { text: labels[i] })]));
      });
      box.appendChild(list);
      box.appendChild(DP.h("div", { className: "legend-note", text: S.cluster_size + ". " + S.cluster_hint + "." }));
    } else {
      list.appendChild(DP.h("li", {}, [DP.swatch("#54278f", "swatch-round"), DP.h("span", { text: S.matches })]));
      list.appendChild(DP.h("li", {}, [DP.swatch("#ffffff", "swatch-round swatch-outline"), DP.h("span", { text: S.others })]));
      box.appendChild(list);
    }
  };

  // A Leaflet control holding plain elements (legend boxes), kept out of map drags.
  DP.panelControl = function (map, position, className) {
    var box = DP.h("div", { className: "leaflet-control map-panel-control " + (className || "") });
    var Control = L.Control.extend({ onAdd: function () { return box; } });
    new Control({ position: position }).addTo(map);
    L.DomEvent.disableClickPropagation(box);
    L.DomEvent.disableScrollPropagation(box);
    return box;
  };

  // The optional basemap: django-leaflet adds it from LEAFLET_CONFIG when BASEMAP_URL is
  // set; this finds it so that the page can switch it off and on.
  DP.basemapOf = function (map) {
    var found = null;
    map.eachLayer(function (layer) {
      if (layer instanceof L.TileLayer) found = layer;
    });
    return found;
  };
})();
