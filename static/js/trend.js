// The trend page: an indicator over survey rounds. A line per area (kabupaten, the chosen
// kecamatan, a clicked village), small multiples of the kecamatan's villages, and the
// change map between two rounds with a diverging palette (better / worse, whichever way
// the indicator counts as better). Everything is read from the rollup through the API,
// suppressed for the public; the view lives in the query string.

import { GEOJSON, getJSON } from "./data.js";
import { clear, h, readConfig, swatch } from "./dom.js";
import { formatter } from "./lib/format.js";
import { hasValue, isSuppressed } from "./lib/values.js";
import { isCode, query } from "./lib/url.js";
import { onMapInit } from "./map.js";
import { urlState } from "./url-state.js";

const cfg = readConfig("trend-config");
if (cfg && cfg.kabupaten && cfg.periods.length) start(cfg);

function cssList(name) {
  return getComputedStyle(document.documentElement).getPropertyValue(name).trim().split(/\s+/);
}

function start(cfg) {
  const S = cfg.strings;
  const fmt = formatter(cfg.language);
  const oneDecimal = new Intl.NumberFormat(cfg.language === "en" ? "en-GB" : "id-ID",
    { minimumFractionDigits: 1, maximumFractionDigits: 1 });
  const KAB = cfg.kabupaten.code;
  const indicators = Object.fromEntries(cfg.indicators.map((ind) => [ind.code, ind]));
  const kecamatan = Object.fromEntries(cfg.kecamatan.map((k) => [k.code, k]));
  const periodCodes = cfg.periods.map((p) => p.code);
  const palette = cssList("--trend-change"); // worse strong, worse, same, better, better strong
  const lineColors = cssList("--trend-lines");
  const suppressedColor = cssList("--map-suppressed")[0];
  const noDataColor = cssList("--map-no-data")[0];
  let villages = null;
  let map = null;
  let areaLayer = null;
  let chart = null;
  let data = { trend: [], areaTrend: [], changes: [] };

  function read(search) {
    const params = new URLSearchParams(search);
    const last = periodCodes.length - 1;
    const state = {
      indikator: params.get("indikator") || "",
      wilayah: params.get("wilayah") || KAB,
      dari: params.get("dari") || periodCodes[Math.max(0, last - 1)],
      ke: params.get("ke") || periodCodes[last],
      desa: params.get("desa") || ""
    };
    if (!indicators[state.indikator]) {
      state.indikator = indicators[cfg.defaultIndicator] ? cfg.defaultIndicator : cfg.indicators[0].code;
    }
    if (state.wilayah !== KAB && !kecamatan[state.wilayah]) state.wilayah = KAB;
    if (periodCodes.indexOf(state.dari) < 0) state.dari = periodCodes[Math.max(0, last - 1)];
    if (periodCodes.indexOf(state.ke) < 0) state.ke = periodCodes[last];
    if (!isCode(state.desa) || state.desa.length !== 13) state.desa = "";
    return state;
  }
  const store = urlState({
    read,
    search: (state) => "?" + new URLSearchParams(Object.entries(state).filter((e) => e[1])).toString(),
    merge: (state, patch) => Object.assign({}, state, patch),
    onChange: (state, previous) => {
      syncControls();
      const reload = ["indikator", "wilayah", "dari", "ke"].some((k) => state[k] !== previous[k]);
      if (reload) load(); else drawAll();
    }
  });

  function option(select, value, label) {
    select.appendChild(h("option", { value, text: label }));
  }
  const controls = {
    indikator: document.getElementById("trend-indicator"),
    wilayah: document.getElementById("trend-area"),
    dari: document.getElementById("trend-from"),
    ke: document.getElementById("trend-to")
  };
  cfg.indicators.forEach((ind) => option(controls.indikator, ind.code, ind.name));
  option(controls.wilayah, KAB, cfg.kabupaten.name);
  cfg.kecamatan.forEach((k) => option(controls.wilayah, k.code, S.kecamatan + " " + k.name));
  cfg.periods.forEach((p) => { option(controls.dari, p.code, p.name); option(controls.ke, p.code, p.name); });
  Object.keys(controls).forEach((key) => {
    controls[key].addEventListener("change", () => {
      const patch = { [key]: controls[key].value };
      if (key === "wilayah") patch.desa = "";
      store.set(patch);
    });
  });
  function syncControls() {
    const state = store.get();
    Object.keys(controls).forEach((key) => { controls[key].value = state[key]; });
  }
  syncControls();

  function areaName(code) {
    if (code === KAB) return cfg.kabupaten.name;
    if (kecamatan[code]) return S.kecamatan + " " + kecamatan[code].name;
    const f = villages && villages.features.filter((x) => x.id === code)[0];
    return f ? f.properties.name : code;
  }

  function load() {
    const state = store.get();
    const ind = state.indikator;
    const wanted = [KAB].concat(state.wilayah !== KAB ? [state.wilayah] : []);
    const requests = [
      getJSON(query(cfg.urls.trend, { indicator: ind, level: "desa", parent: state.wilayah })),
      getJSON(query(cfg.urls.trend, { indicator: ind, area: wanted.join(",") })),
      state.dari !== state.ke
        ? getJSON(query(cfg.urls.changes, { indicator: ind, level: "desa", parent: state.wilayah, from: state.dari, to: state.ke }))
        : Promise.resolve([])
    ];
    document.body.dataset.trendLoading = "1";
    return Promise.all(requests).then(([trend, areaTrend, changes]) => {
      data = { trend: trend.rows, areaTrend: areaTrend.rows, changes };
      drawAll();
    }).catch(() => {
      document.getElementById("trend-direction").textContent = S.load_failed;
    }).finally(() => { delete document.body.dataset.trendLoading; });
  }

  function seriesOf(rows, code) {
    const byPeriod = {};
    rows.filter((r) => r.area_code === code).forEach((r) => { byPeriod[r.period] = r; });
    return periodCodes.map((p) => byPeriod[p]);
  }

  // Shares (%) are judged better or worse; a count (households, people) only rises or
  // falls: blue up, orange down, nothing said about better.
  const judged = () => indicators[store.get().indikator].unit === "%";
  function kindOf(row) {
    if (row.direction === "tetap") return "tetap";
    if (judged()) return row.direction;
    return row.change > 0 ? "membaik" : "memburuk";
  }

  function changeClass(row, maxAbs) {
    if (!row) return noDataColor;
    if (row.suppressed) return suppressedColor;
    if (row.change === null || row.direction === null) return noDataColor;
    const kind = kindOf(row);
    if (kind === "tetap") return palette[2];
    const strong = maxAbs > 0 && Math.abs(row.change) >= maxAbs / 2;
    if (kind === "membaik") return palette[strong ? 4 : 3];
    return palette[strong ? 0 : 1];
  }

  function drawDirection() {
    const state = store.get();
    const ind = indicators[state.indikator];
    const note = document.getElementById("trend-direction");
    const judgement = ind.unit !== "%" ? S.count : ind.higher_is_better ? S.higher_is_better : S.lower_is_better;
    note.textContent = judgement +
      (state.dari === state.ke ? " " + S.pick_two : "");
  }

  function drawMap() {
    if (!map || !villages) return;
    const state = store.get();
    const byCode = Object.fromEntries(data.changes.map((c) => [c.area_code, c]));
    const maxAbs = Math.max(0, ...data.changes.filter((c) => c.change !== null).map((c) => Math.abs(c.change)));
    const features = villages.features.filter((f) => f.geometry && (state.wilayah === KAB || f.properties.parent === state.wilayah));
    if (areaLayer) map.removeLayer(areaLayer);
    const ind = indicators[state.indikator];
    areaLayer = window.L.geoJSON({ type: "FeatureCollection", features }, {
      style: (f) => ({
        fillColor: changeClass(byCode[f.properties.code], maxAbs), fillOpacity: 0.85,
        color: f.properties.code === state.desa ? "#1d2733" : "#ffffff",
        weight: f.properties.code === state.desa ? 3 : 1
      }),
      onEachFeature(f, layer) {
        layer.bindTooltip(() => {
          const row = byCode[f.properties.code];
          const box = h("div", { className: "area-tip" }, [h("strong", { text: f.properties.name })]);
          if (!row || (row.change === null && !row.suppressed)) box.appendChild(h("div", { text: S.no_data }));
          else if (row.suppressed) box.appendChild(h("div", { text: S.suppressed }));
          else {
            box.appendChild(h("div", { text: fmt.value(ind, row.from_value) + " \u2192 " + fmt.value(ind, row.to_value) }));
            box.appendChild(h("div", { className: "tip-sub", text: directionLabel(row) }));
          }
          return box;
        }, { sticky: true, direction: "top" });
        layer.on("click", () => store.set({ desa: f.properties.code }));
      }
    }).addTo(map);
    const container = map.getContainer();
    container.dataset.featureCount = String(features.length);
    container.dataset.colored = String(data.changes.filter((c) => c.change !== null).length);
    if (areaLayer.getBounds().isValid()) map.fitBounds(areaLayer.getBounds(), { padding: [8, 8] });
    drawLegend();
  }

  function directionLabel(row) {
    if (row.direction === null) return S.no_data;
    const labels = judged() ? { membaik: S.better, memburuk: S.worse, tetap: S.same }
      : { membaik: S.up, memburuk: S.down, tetap: S.same };
    const label = labels[kindOf(row)];
    const sign = row.change > 0 ? "+" : "";
    const unit = indicators[store.get().indikator].unit === "%" ? " " + S.points : "";
    return label + " (" + sign + oneDecimal.format(row.change) + unit + ")";
  }

  function drawLegend() {
    const box = clear(document.getElementById("trend-legend"));
    const up = judged() ? S.better : S.up;
    const down = judged() ? S.worse : S.down;
    [[palette[4], up], [palette[3], up], [palette[2], S.same], [palette[1], down],
      [palette[0], down], [suppressedColor, S.suppressed], [noDataColor, S.no_data]]
      .forEach((pair, i) => {
        if (i === 1 || i === 4) return; // one swatch per meaning, strong shade shown
        box.appendChild(h("span", { className: "legend-item" }, [swatch(pair[0]), pair[1]]));
      });
  }

  function drawChart() {
    const state = store.get();
    const ind = indicators[state.indikator];
    const lines = [[KAB, cfg.kabupaten.name, data.areaTrend]];
    if (state.wilayah !== KAB) lines.push([state.wilayah, areaName(state.wilayah), data.areaTrend]);
    if (state.desa) lines.push([state.desa, areaName(state.desa), data.trend]);
    const datasets = lines.map(([code, label, rows], i) => {
      const series = seriesOf(rows, code);
      return {
        label, rows: series, borderColor: lineColors[i % lineColors.length],
        backgroundColor: lineColors[i % lineColors.length], spanGaps: false, tension: 0,
        data: series.map((r) => (hasValue(r) ? r.value : null))
      };
    });
    const canvas = document.getElementById("trend-chart");
    canvas.dataset.lines = lines.map((l) => l[0]).join(",");
    document.getElementById("trend-village-hint").textContent = state.desa ? "" : S.village_line;
    const labels = cfg.periods.map((p) => p.name);
    if (chart) chart.destroy();
    chart = new window.Chart(canvas, {
      type: "line",
      data: { labels, datasets },
      options: {
        animation: false, responsive: true, maintainAspectRatio: false,
        scales: { y: { beginAtZero: true, title: { display: true, text: ind.unit } } },
        plugins: {
          tooltip: {
            callbacks: {
              label(item) {
                const row = item.dataset.rows[item.dataIndex];
                if (isSuppressed(row)) return item.dataset.label + ": " + S.suppressed;
                if (!hasValue(row)) return item.dataset.label + ": " + S.no_data;
                return item.dataset.label + ": " + fmt.value(ind, row.value);
              }
            }
          }
        }
      }
    });
  }

  // One small line per village of the kecamatan: an SVG sparkline on the same scale.
  function drawMultiples() {
    const state = store.get();
    const section = document.getElementById("multiples-section");
    const box = clear(document.getElementById("small-multiples"));
    section.hidden = state.wilayah === KAB;
    if (state.wilayah === KAB || !villages) return;
    const ind = indicators[state.indikator];
    const feats = villages.features.filter((f) => f.properties.parent === state.wilayah)
      .sort((a, b) => a.properties.name.localeCompare(b.properties.name));
    const all = data.trend.filter(hasValue).map((r) => r.value);
    const top = Math.max(1, ...all);
    const W = 140, H = 56, P = 6;
    const ns = "http://www.w3.org/2000/svg";
    feats.forEach((f) => {
      const series = seriesOf(data.trend, f.properties.code);
      const svg = document.createElementNS(ns, "svg");
      svg.setAttribute("viewBox", "0 0 " + W + " " + H);
      svg.setAttribute("role", "img");
      const step = periodCodes.length > 1 ? (W - 2 * P) / (periodCodes.length - 1) : 0;
      const pts = series.map((r, i) => (hasValue(r) ? [P + i * step, H - P - (r.value / top) * (H - 2 * P)] : null));
      let path = "";
      pts.forEach((p, i) => { if (p) path += (i && pts[i - 1] ? "L" : "M") + p[0].toFixed(1) + " " + p[1].toFixed(1); });
      const line = document.createElementNS(ns, "path");
      line.setAttribute("d", path);
      line.setAttribute("class", "spark-line");
      svg.appendChild(line);
      pts.forEach((p) => {
        if (!p) return;
        const dot = document.createElementNS(ns, "circle");
        dot.setAttribute("cx", p[0]); dot.setAttribute("cy", p[1]); dot.setAttribute("r", 2.5);
        dot.setAttribute("class", "spark-dot");
        svg.appendChild(dot);
      });
      const values = series.map((r) => (isSuppressed(r) ? "*" : hasValue(r) ? fmt.value(ind, r.value) : "\u2013"));
      svg.setAttribute("aria-label", f.properties.name + ": " + values.join(", "));
      const card = h("button", {
        type: "button", className: "multiple" + (f.properties.code === state.desa ? " selected" : ""),
        dataset: { code: f.properties.code }
      }, [h("span", { className: "multiple-name", text: f.properties.name }), svg,
        h("span", { className: "multiple-values", text: values.join(" \u2192 ") })]);
      card.addEventListener("click", () => store.set({ desa: f.properties.code }));
      box.appendChild(card);
    });
  }

  function drawTable() {
    const state = store.get();
    const ind = indicators[state.indikator];
    const names = Object.fromEntries(cfg.periods.map((p) => [p.code, p.name]));
    document.getElementById("change-from-head").textContent = names[state.dari];
    document.getElementById("change-to-head").textContent = names[state.ke];
    const body = clear(document.querySelector("#change-table tbody"));
    data.changes.slice().sort((a, b) => a.area_name.localeCompare(b.area_name)).forEach((row) => {
      const name = h("td", {}, [h("a", { href: cfg.urls.village.replace("CODE", row.area_code), text: row.area_name })]);
      if (cfg.urls.villageChanges && !row.suppressed) {
        name.appendChild(document.createTextNode(" \u00b7 "));
        name.appendChild(h("a", {
          href: query(cfg.urls.villageChanges.replace("CODE", row.area_code), { indikator: state.indikator, dari: state.dari, ke: state.ke }),
          text: S.changes_link
        }));
      }
      const cells = row.suppressed
        ? [S.suppressed, S.suppressed, "\u2013", S.suppressed]
        : [fmt.value(ind, row.from_value), fmt.value(ind, row.to_value),
          row.change === null ? "\u2013" : (row.change > 0 ? "+" : "") + oneDecimal.format(row.change), directionLabel(row)];
      body.appendChild(h("tr", { dataset: { code: row.area_code, direction: row.direction || "" } }, [
        name,
        h("td", { className: "num", text: cells[0] }),
        h("td", { className: "num", text: cells[1] }),
        h("td", { className: "num", text: cells[2] }),
        h("td", { text: cells[3] })
      ]));
    });
  }

  function drawAll() {
    drawDirection();
    drawMap();
    drawChart();
    drawMultiples();
    drawTable();
    document.body.dataset.trendReady = "1";
  }

  const boot = Promise.all([
    getJSON(query(cfg.urls.regions, { level: "desa", within: KAB, format: "geojson", tolerance: "0.0005" }), GEOJSON)
      .then((fc) => { villages = fc; }),
    load()
  ]);
  onMapInit("trend-map", (created) => {
    map = created;
    boot.then(drawAll);
  });
}
