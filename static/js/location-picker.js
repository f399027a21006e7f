// The household form's location, enhanced: a map with the village outline where a click
// or a drag of the marker sets the point, and "Gunakan lokasi saya" (the browser's
// geolocation, with its accuracy in metres). Without this script the form keeps its two
// plain inputs (lintang, bujur); with it they stay the truth the form submits, and the
// server checks the point with the same location rule as the census import.

import { readConfig } from "./dom.js";
import { onMapInit } from "./map.js";

const MAP_ID = "location-map";
const config = readConfig("location-config");

function inputs() {
  return {
    lat: document.getElementById("id_lintang"),
    lon: document.getElementById("id_bujur"),
    status: document.getElementById("location-status")
  };
}

function say(text, warning) {
  const { status } = inputs();
  if (!status) return;
  status.textContent = text;
  status.classList.toggle("hf-warning", Boolean(warning));
}

function format(template, values) {
  return template.replace(/%\((\w+)\)s/g, (_, key) => String(values[key]));
}

function typedPoint() {
  const { lat, lon } = inputs();
  const y = parseFloat(lat.value);
  const x = parseFloat(lon.value);
  return Number.isFinite(x) && Number.isFinite(y) ? [y, x] : null;
}

function writePoint(latlng) {
  const { lat, lon } = inputs();
  lat.value = latlng.lat.toFixed(6);
  lon.value = latlng.lng.toFixed(6);
  // Other scripts (and the browser's own validation) learn of the change.
  lat.dispatchEvent(new Event("change", { bubbles: true }));
  lon.dispatchEvent(new Event("change", { bubbles: true }));
}

async function drawOutline(L, map) {
  const response = await fetch(config.outline, {
    headers: { Accept: "application/geo+json" },
    credentials: "same-origin"
  });
  if (!response.ok) throw new Error(`outline: HTTP ${response.status}`);
  const layer = L.geoJSON(await response.json(), {
    interactive: false,
    style: () => ({ color: "#0f5c8c", weight: 2, fillColor: "#0f5c8c", fillOpacity: 0.06 })
  }).addTo(map);
  return layer.getBounds();
}

function start(map) {
  const L = window.L;
  const container = map.getContainer();
  container.dataset.ready = "0";
  const help = document.getElementById("location-map-help");
  if (help) help.hidden = false;
  let marker = null;

  // `pan`: bring the point into view (a typed point); `zoom`: also close in (a device fix).
  function place(latlng, { pan, zoom } = { pan: false, zoom: false }) {
    if (marker) {
      marker.setLatLng(latlng);
    } else {
      marker = L.marker(latlng, { draggable: true, keyboard: true, title: config.strings.marker })
        .addTo(map);
      marker.on("dragend", () => {
        writePoint(marker.getLatLng());
        say(config.strings.moved);
      });
    }
    if (zoom) map.setView(latlng, Math.max(map.getZoom(), 17), { animate: false });
    else if (pan && !map.getBounds().contains(latlng)) map.panTo(latlng, { animate: false });
    container.dataset.point = `${latlng.lat.toFixed(6)},${latlng.lng.toFixed(6)}`;
  }

  map.on("click", (event) => {
    place(event.latlng);
    writePoint(event.latlng);
    say(config.strings.moved);
  });

  const { lat, lon } = inputs();
  [lat, lon].forEach((input) => input.addEventListener("input", () => {
    const point = typedPoint();
    if (point) place(L.latLng(point[0], point[1]), { pan: true });
  }));

  const typed = typedPoint();
  if (typed) place(L.latLng(typed[0], typed[1]));
  drawOutline(L, map)
    .then((bounds) => {
      if (marker) bounds.extend(marker.getLatLng());
      if (bounds.isValid()) map.fitBounds(bounds, { padding: [12, 12], maxZoom: 16, animate: false });
      container.dataset.ready = "1";
    })
    .catch(() => {
      if (marker) map.setView(marker.getLatLng(), 16, { animate: false });
      say(config.strings.load_failed, true);
      container.dataset.ready = "error";
    });

  const button = document.getElementById("use-my-location");
  if (button && "geolocation" in navigator) {
    button.hidden = false;
    button.addEventListener("click", () => locate(L, place, button));
  }
}

function locate(L, place, button) {
  button.disabled = true;
  say(config.strings.locating);
  navigator.geolocation.getCurrentPosition(
    (position) => {
      button.disabled = false;
      const { latitude, longitude, accuracy } = position.coords;
      const metres = Math.round(accuracy);
      if (metres > config.refuseAboveM) {
        // Too coarse to place a house: nothing is written, the operator tries again.
        say(format(config.strings.refused, { metres, limit: config.refuseAboveM }), true);
        return;
      }
      const latlng = L.latLng(latitude, longitude);
      place(latlng, { zoom: true });
      writePoint(latlng);
      if (metres > config.warnAboveM) {
        say(format(config.strings.poor, { metres }), true);
      } else {
        say(format(config.strings.accuracy, { metres }));
      }
    },
    (error) => {
      button.disabled = false;
      say(error.code === error.PERMISSION_DENIED ? config.strings.denied : config.strings.failed, true);
    },
    { enableHighAccuracy: true, timeout: 20000, maximumAge: 0 }
  );
}

if (config) onMapInit(MAP_ID, start);
