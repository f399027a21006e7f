// The home map's areas: villages or kecamatan coloured by the indicator, the other
// kecamatan faint around a chosen one, kecamatan borders over the villages.

import { coverageDetail } from "./coverage.js";
import { h } from "./dom.js";
import { isCode } from "./lib/url.js";
import { hasValue, isSuppressed } from "./lib/values.js";

// `page`: the home page context (home.js).
export function createAreas(map, page) {
  const L = window.L;
  const { cfg, S, fmt, theme } = page;
  const layers = { areas: null, outline: null, others: null };
  let layerByCode = {};
  let hovered = null;

  function tooltipFor(code, level) {
    const ind = page.shownIndicator();
    const row = page.values.rowsOf(page.shownKey())[code];
    const box = h("div", { className: "area-tip" }, [h("strong", { text: page.areaName(code) })]);
    if (level === "desa") {
      const feature = page.villageFeature(code);
      const parent = feature && page.kecamatan[feature.properties.parent];
      if (parent) box.appendChild(h("div", { className: "tip-sub", text: S.kecamatan + " " + parent.name }));
    }
    if (!cfg.valuesAllowed) {
      box.appendChild(h("div", { text: S.login_for_values }));
      return box;
    }
    box.appendChild(h("div", { className: "tip-ind", text: ind.name }));
    if (isSuppressed(row)) {
      box.appendChild(h("div", { className: "tip-value", text: S.suppressed }));
      box.appendChild(h("div", { className: "tip-sub", text: S.suppressed_hint }));
    } else if (!hasValue(row)) {
      box.appendChild(h("div", { className: "tip-value", text: S.no_data }));
    } else {
      box.appendChild(h("div", { className: "tip-value", text: fmt.value(ind, row.value) }));
      if (ind.coverage) {
        box.appendChild(h("div", { className: "tip-sub", text: coverageDetail(row, S, fmt) }));
      } else if (ind.ratio) {
        box.appendChild(h("div", {
          className: "tip-sub",
          text: S.numerator + " " + fmt.count(row.numerator) + " / " + S.denominator + " " + fmt.count(row.denominator)
        }));
      }
    }
    return box;
  }

  function styleArea(feature) {
    const state = page.state();
    return {
      fillColor: page.model.colorOf(page.values.rowsOf(page.shownKey())[feature.properties.code]),
      fillOpacity: cfg.valuesAllowed ? (state.layer === "households" ? 0.5 : 0.85) : 0.35,
      color: theme.areaBorder, weight: feature.properties.level === "kecamatan" ? 2 : 1, opacity: 1
    };
  }

  function unhighlight(layer) {
    if (hovered === layer) hovered = null;
    if (layers.areas && layers.areas.hasLayer(layer)) layers.areas.resetStyle(layer);
  }

  function highlight(layer) {
    // Once per area: bringToFront re-inserts the path, and the browser then reports
    // the pointer entering it again; re-inserting every time loops and eats clicks.
    if (hovered === layer) return;
    if (hovered) unhighlight(hovered);
    hovered = layer;
    layer.setStyle({ weight: 3, color: theme.areaHover });
    layer.bringToFront();
    if (layers.outline) layers.outline.bringToFront();
  }

  function onAreaClick(props) {
    if (props.level === "kecamatan") {
      page.setState({ area: props.code, level: "desa" });
    } else if (isCode(props.code)) {
      window.location.href = page.villageUrl(props.code);
    }
  }

  function draw() {
    const state = page.state();
    hovered = null;
    Object.keys(layers).forEach((key) => {
      if (layers[key]) { map.removeLayer(layers[key]); layers[key] = null; }
    });
    layerByCode = {};
    const sc = page.scope();
    const kecFeatures = page.kecamatanFeatures();
    const features = sc.level === "kecamatan" ? kecFeatures : page.villageFeatures(state.area);

    if (state.area !== page.KAB) {
      // The other kecamatan, faint: a click moves there.
      layers.others = L.geoJSON({ type: "FeatureCollection", features: kecFeatures.filter((f) => f.id !== state.area) }, {
        style: () => ({ fillColor: theme.areaOther, fillOpacity: 0.35, color: theme.areaBorder, weight: 1.5 }),
        onEachFeature(feature, layer) {
          layer.bindTooltip(() => h("div", { className: "area-tip" }, [
            h("strong", { text: S.kecamatan + " " + feature.properties.name })
          ]), { sticky: true, direction: "top" });
          layer.on("click", () => { page.setState({ area: feature.properties.code, level: "desa" }); });
        }
      }).addTo(map);
    }

    layers.areas = L.geoJSON({ type: "FeatureCollection", features }, {
      style: styleArea,
      onEachFeature(feature, layer) {
        layerByCode[feature.properties.code] = layer;
        layer.bindTooltip(() => tooltipFor(feature.properties.code, sc.level),
          { sticky: true, direction: "top", className: "area-tooltip" });
        layer.on({
          mouseover: () => highlight(layer),
          mouseout: () => unhighlight(layer),
          click: () => onAreaClick(feature.properties)
        });
      }
    }).addTo(map);

    if (sc.level === "desa") {
      // Kecamatan borders over the villages, for orientation only.
      layers.outline = L.geoJSON({
        type: "FeatureCollection",
        features: kecFeatures.filter((f) => state.area === page.KAB || f.id === state.area)
      }, {
        interactive: false,
        style: () => ({ fill: false, color: theme.kecamatanOutline, weight: 2, opacity: 0.8 })
      }).addTo(map);
    }
    const container = map.getContainer();
    container.dataset.featureCount = String(features.length);
    container.dataset.level = sc.level;
    container.dataset.area = state.area;
  }

  // Zoom to the view's area; false when there is nothing to zoom to.
  function fit() {
    const state = page.state();
    let target = layers.areas;
    if (state.area !== page.KAB) {
      const kec = page.kecamatanFeatures().filter((f) => f.id === state.area)[0];
      if (kec) target = L.geoJSON(kec);
    }
    if (!target || !target.getBounds().isValid()) return false;
    map.fitBounds(target.getBounds(), { padding: [12, 12] });
    return true;
  }

  return {
    draw,
    fit,
    highlight(code) { if (layerByCode[code]) highlight(layerByCode[code]); },
    unhighlight(code) { if (layerByCode[code]) unhighlight(layerByCode[code]); }
  };
}
