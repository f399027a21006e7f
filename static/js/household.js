// The household page's small map: the village outline and the household's point.
// django-leaflet builds the map (classic scripts, window.L) and announces it with
// `map:init`; everything this module needs is in the page's JSON config.

import { readConfig } from "./dom.js";
import { onMapInit } from "./map.js";

const MAP_ID = "household-map";
const config = readConfig("household-config");

// The two colours this map draws with (portal.css :root), with a fallback.
function cssColour(name, fallback) {
  const value = getComputedStyle(document.documentElement).getPropertyValue(name).trim();
  return value || fallback;
}

function drawPoint(L, map, point) {
  const [lon, lat] = point;
  const marker = L.circleMarker([lat, lon], {
    className: "hh-point",
    radius: 8,
    weight: 3,
    color: "#ffffff",
    fillColor: cssColour("--map-household-point", "#bd0026"),
    fillOpacity: 1
  }).addTo(map);
  marker.bindTooltip(config.strings.point);
  map.setView([lat, lon], 15, { animate: false });
  return marker;
}

async function drawOutline(L, map, marker) {
  const response = await fetch(config.outline, {
    headers: { Accept: "application/geo+json" },
    credentials: "same-origin"
  });
  if (!response.ok) throw new Error(`outline: HTTP ${response.status}`);
  const accent = cssColour("--map-village-outline", "#0f5c8c");
  const layer = L.geoJSON(await response.json(), {
    interactive: false,
    style: () => ({ color: accent, weight: 2, fillColor: accent, fillOpacity: 0.06 })
  }).addTo(map);
  const bounds = layer.getBounds();
  if (marker) {
    marker.bringToFront();
    bounds.extend(marker.getLatLng());
  }
  // Not animated: the view is final (and drawn) once this returns.
  if (bounds.isValid()) map.fitBounds(bounds, { padding: [12, 12], maxZoom: 16, animate: false });
}

function start(map) {
  const L = window.L;
  const container = map.getContainer();
  container.dataset.ready = "0";
  map.options.zoomSnap = 0.25; // a closer fit of the outline than whole zoom levels
  const marker = config.point ? drawPoint(L, map, config.point) : null;
  container.dataset.point = config.point ? `${config.point[1]},${config.point[0]}` : "";
  drawOutline(L, map, marker)
    .then(() => { container.dataset.ready = "1"; })
    .catch(() => {
      const hint = document.getElementById("map-hint");
      if (hint) hint.textContent = `${hint.textContent.trim()} \u2013 ${config.strings.load_failed}`;
      container.dataset.ready = "error";
    });
}

if (config) onMapInit(MAP_ID, start);
