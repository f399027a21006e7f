// The officials' quality choropleth: each village coloured by the share of its
// households with a quality flag (GeoJSON from /api/v1/quality/villages/, built in SQL).

import { getJSON } from "./data.js";
import { onMapInit } from "./map.js";

const box = document.getElementById("quality-map-box");

function shareClass(share) {
  if (share === null || share === undefined) return "none";
  if (share < 5) return "q0";
  if (share < 15) return "q1";
  if (share < 30) return "q2";
  return "q3";
}

const COLOURS = { none: "#d9d9d9", q0: "#edf8e9", q1: "#fdbe85", q2: "#fd8d3c", q3: "#d94701" };

if (box) {
  onMapInit("quality-map", async (map) => {
    const data = await getJSON(box.dataset.url);
    const L = window.L;
    const layer = L.geoJSON(data, {
      style: (feature) => ({
        color: "#555",
        weight: 1,
        fillOpacity: 0.75,
        fillColor: COLOURS[shareClass(feature.properties.share)],
      }),
      onEachFeature: (feature, shape) => {
        const p = feature.properties;
        const share = p.share === null ? "–" : `${p.share}%`;
        shape.bindTooltip(`${p.name}: ${share}`);
        shape.on("click", () => {
          window.location.href = box.dataset.villageUrl.replace("CODE", p.code);
        });
      },
    }).addTo(map);
    if (layer.getBounds().isValid()) map.fitBounds(layer.getBounds());
  });
}
