// Leaflet pieces shared by the dashboard pages: the map django-leaflet creates, panels on
// it, the optional basemap and the household layer (vector tiles). Leaflet and
// Leaflet.VectorGrid are classic scripts loaded before the modules; they are read from
// window.L when used.

import { getJSON } from "./data.js";
import { clear, h } from "./dom.js";
import { DASH } from "./lib/format.js";
import { isCluster, pointStyle } from "./lib/points.js";
import { isCode, query } from "./lib/url.js";

// The map of `{% leaflet_map id %}`, once django-leaflet has made it (its map:init event
// fires on window load, after the modules ran).
export function onMapInit(id, callback) {
  window.addEventListener("map:init", (event) => {
    if (event.detail.id === id) callback(event.detail.map);
  });
}

// A Leaflet control holding plain elements (legend boxes), kept out of map drags.
export function panelControl(map, position, className) {
  const L = window.L;
  const box = h("div", { className: "leaflet-control map-panel-control " + (className || "") });
  const Control = L.Control.extend({ onAdd: () => box });
  new Control({ position }).addTo(map);
  L.DomEvent.disableClickPropagation(box);
  L.DomEvent.disableScrollPropagation(box);
  return box;
}

// The optional basemap: django-leaflet adds it from LEAFLET_CONFIG when BASEMAP_URL is
// set; this finds it so that the page can switch it off and on.
export function basemapOf(map) {
  let found = null;
  map.eachLayer((layer) => {
    if (layer instanceof window.L.TileLayer) found = layer;
  });
  return found;
}

export function showBasemap(map, basemap, wanted) {
  if (!basemap) return;
  if (wanted && !map.hasLayer(basemap)) basemap.addTo(map);
  if (!wanted && map.hasLayer(basemap)) map.removeLayer(basemap);
}

function householdPopup(map, latlng, id, options) {
  const S = options.strings;
  const body = h("div", { className: "hh-popup" }, [h("p", { text: S.loading })]);
  const popup = window.L.popup({ maxWidth: 300, minWidth: 220 }).setLatLng(latlng).setContent(body).openOn(map);
  getJSON(options.detail.replace("{id}", encodeURIComponent(id))).then((hh) => {
    const head = (hh.members || []).filter((m) => m.hubungan_keluarga === 1)[0];
    const fmt = options.fmt;
    const rows = [
      [S.head, head && head.nama ? head.nama : S.hidden],
      [S.members, fmt.count(hh.jumlah_anggota)],
      [S.ats, fmt.count(hh.jumlah_ats)],
      [S.desil, hh.desil_kesejahteraan == null ? DASH : String(hh.desil_kesejahteraan)],
      [S.sanitation, hh.tangga_sanitasi == null ? DASH
        : (options.sanitationLevels[String(hh.tangga_sanitasi)] || String(hh.tangga_sanitasi))],
      [S.coordinates, hh.lokasi ? fmt.coord(hh.lokasi[1]) + ", " + fmt.coord(hh.lokasi[0]) : DASH]
    ];
    if (hh.no_kk) rows.splice(1, 0, [S.no_kk, hh.no_kk]);
    const list = h("dl", { className: "hh-facts" });
    rows.forEach((pair) => {
      list.appendChild(h("dt", { text: pair[0] }));
      list.appendChild(h("dd", { text: pair[1] }));
    });
    const links = h("p", { className: "hh-links" });
    if (options.page && /^[0-9]+$/.test(String(hh.id))) {
      links.appendChild(h("a", { href: options.page.replace("{id}", String(hh.id)), text: S.open_household }));
    }
    if (options.admin && /^[0-9]+$/.test(String(hh.id))) {
      links.appendChild(h("a", { href: options.admin.replace("{id}", String(hh.id)), text: S.open_admin }));
    }
    if (options.village && isCode(hh.region) && hh.region !== options.currentVillage) {
      links.appendChild(h("a", { href: options.village.replace("CODE", hh.region), text: S.open_village }));
    }
    clear(body);
    body.appendChild(list);
    if (links.childNodes.length) body.appendChild(links);
    popup.update();
  }).catch(() => {
    clear(body).appendChild(h("p", { text: S.load_failed }));
  });
}

// Leaflet.VectorGrid 1.3.0 with Leaflet 1.9: point symbolizers inherit getLatLng()
// without a position, so Leaflet fails on every pointer event over a point
// (upstream issue #148, fixed by #157 after the 1.3.0 release). Without the method
// Leaflet takes the position from the mouse event.
function patchVectorGrid() {
  const proto = window.L.VectorGrid.prototype;
  if (proto._dpPointPatch) return;
  const create = proto._createLayer;
  proto._createLayer = function (...args) {
    const layer = create.apply(this, args);
    if (layer && layer.getLatLng && !layer._latlng) layer.getLatLng = null;
    return layer;
  };
  proto._dpPointPatch = true;
}

// A household layer: clusters up to zoom 13 (16 in dense villages), one point per
// household beyond.
// options: tiles, filters {name: value}, criterion, theme, strings, fmt, detail, page, admin,
// village, currentVillage, sanitationLevels.
export function householdLayer(map, options) {
  const L = window.L;
  patchVectorGrid();
  if (!map.getPane("households")) {
    const pane = map.createPane("households");
    pane.style.zIndex = 450;
    pane.classList.add("households-pane");
  }
  let criterion = options.criterion;
  const layer = L.vectorGrid.protobuf(query(options.tiles, options.filters), {
    pane: "households",
    // SVG tiles: only the drawn symbols catch the pointer, so the areas below stay
    // clickable (and the canvas renderer needs L.DomEvent.fakeStop, gone in Leaflet 1.8+).
    rendererFactory: L.svg.tile,
    interactive: true,
    maxNativeZoom: 18,
    fetchOptions: { credentials: "same-origin" },
    vectorTileLayerStyles: {
      households: (props) => pointStyle(props, criterion, options.theme)
    }
  });
  layer.on("click", (event) => {
    const props = (event.layer && event.layer.properties) || {};
    if (event.originalEvent) L.DomEvent.stopPropagation(event.originalEvent);
    if (isCluster(props)) {
      // Dense villages are clustered up to zoom 16 (households/tiles.py DENSE_MAX_ZOOM).
      map.setView(event.latlng, Math.min(map.getZoom() + 2, 17));
    } else if (props.id !== undefined && options.detail) {
      householdPopup(map, event.latlng, props.id, options);
    }
  });
  return {
    layer,
    setCriterion(next) {
      if (next === criterion) return;
      criterion = next;
      layer.redraw();
    }
  };
}
