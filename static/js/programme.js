// The programme page's coverage map: the villages of the programme's area coloured by the
// share of the households the indicator counts that an intervention has reached. The
// figures come from the coverage API (stored rows); the page's table works without it.

import { GEOJSON, getJSON } from "./data.js";
import { readConfig } from "./dom.js";
import { onMapInit } from "./map.js";
import { query } from "./lib/url.js";

const config = readConfig("programme-config");

function cssList(name, fallback) {
  const value = getComputedStyle(document.documentElement).getPropertyValue(name).trim();
  return value ? value.split(/\s+/) : fallback;
}

function colour(share, palette) {
  if (share === null) return null;
  const index = Math.min(palette.length - 1, Math.floor(share * palette.length));
  return palette[index];
}

async function draw(map) {
  const L = window.L;
  const S = config.strings;
  const [areas, coverage] = await Promise.all([
    getJSON(query(config.regions, { format: "geojson", level: "desa", within: config.area, tolerance: "0.0005" }), GEOJSON),
    getJSON(query(config.coverage, { indicator: config.indicator, year: String(config.year), parent: config.area }))
  ]);
  const byCode = Object.fromEntries(coverage.map((row) => [row.region, row]));
  const palette = cssList("--palette-neutral-5", ["#ffffcc", "#a1dab4", "#41b6c4", "#2c7fb8", "#253494"]);
  const hidden = getComputedStyle(document.documentElement).getPropertyValue("--map-suppressed").trim() || "#9aa1ab";
  const empty = getComputedStyle(document.documentElement).getPropertyValue("--map-no-data").trim() || "#e9ecf0";
  const layer = L.geoJSON(areas, {
    style: (feature) => {
      const row = byCode[feature.properties.code || feature.id];
      let fill = empty;
      if (row && (row.counted === null || row.reached === null)) fill = hidden;
      else if (row && row.counted > 0) fill = colour(row.reached / row.counted, palette);
      const code = String(feature.properties.code || feature.id || "");
      return {
        color: "#ffffff", weight: 1, fillColor: fill, fillOpacity: 0.85,
        className: "coverage-area area-" + code.replace(/\./g, "-")
      };
    },
    onEachFeature: (feature, shape) => {
      const row = byCode[feature.properties.code || feature.id];
      const show = (value) => (value === null || value === undefined ? S.hidden : String(value));
      const text = [feature.properties.name || ""];
      if (row) {
        text.push(S.counted + ": " + show(row.counted));
        text.push(S.reached + ": " + show(row.reached));
        text.push(S.untouched + ": " + show(row.untouched));
      }
      shape.bindTooltip(text.join(" · "));
    }
  }).addTo(map);
  // The container got its height from the stylesheet after Leaflet measured it.
  map.invalidateSize({ animate: false });
  const bounds = layer.getBounds();
  if (bounds.isValid()) map.fitBounds(bounds, { padding: [8, 8], animate: false });
  const box = document.getElementById("programme-map");
  box.dataset.reached = coverage.map((row) => row.region + ":" + row.reached).join(",");
  box.dataset.ready = "1";
}

if (config) {
  onMapInit("programme-map", (map) => {
    draw(map).catch((error) => {
      document.getElementById("map-hint").textContent = String(error);
    });
  });
}
