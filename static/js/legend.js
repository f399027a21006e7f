// Map legends: the classes of a choropleth and the colours of household points.

import { clear, h, swatch } from "./dom.js";
import { CLUSTER_MAX_ZOOM, SHARE_LABELS } from "./lib/points.js";

// The classed legend of a choropleth `model` (lib/classify.js) into `box`.
export function renderLegend(box, model, fmt, S, theme) {
  clear(box);
  const ind = model.indicator;
  box.appendChild(h("div", { className: "legend-title", text: ind.name }));
  box.appendChild(h("div", { className: "legend-sub", text: ind.unit + " \u00b7 " + S.legend_quantile }));
  const list = h("ul", { className: "legend-classes" });
  model.stats.forEach((s, i) => {
    if (!s.n) return;
    const label = s.min === s.max ? fmt.value(ind, s.min)
      : fmt.value(ind, s.min) + " \u2013 " + fmt.value(ind, s.max);
    list.appendChild(h("li", { dataset: { color: model.colors[i] } }, [
      swatch(model.colors[i]), h("span", { text: label }),
      h("span", { className: "legend-n", text: "(" + s.n + ")" })
    ]));
  });
  if (model.suppressed) {
    list.appendChild(h("li", { className: "legend-suppressed", title: S.suppressed_hint }, [
      swatch(theme.suppressed, "swatch-suppressed"), h("span", { text: S.suppressed }),
      h("span", { className: "legend-n", text: "(" + model.suppressed + ")" })
    ]));
  }
  if (model.missing) {
    list.appendChild(h("li", {}, [
      swatch(theme.noData, "swatch-nodata"), h("span", { text: S.no_data }),
      h("span", { className: "legend-n", text: "(" + model.missing + ")" })
    ]));
  }
  box.appendChild(list);
  box.appendChild(h("div", { className: "legend-note", text: model.judged ? S.darker_worse : S.darker_more }));
  box.dataset.classes = String(model.stats.filter((s) => s.n).length);
}

// The legend of the household layer: cluster shares up to zoom 13, points beyond.
// `criterion` is the name of the criterion the points are coloured by.
export function renderHouseholdLegend(box, criterion, zoom, S, theme) {
  clear(box);
  box.appendChild(h("div", { className: "legend-title", text: S.household_points + (criterion ? ": " + criterion : "") }));
  const list = h("ul", { className: "legend-classes" });
  if (zoom <= CLUSTER_MAX_ZOOM) {
    box.appendChild(h("div", { className: "legend-sub", text: S.cluster_share }));
    theme.share.forEach((color, i) => {
      list.appendChild(h("li", {}, [swatch(color, "swatch-round"), h("span", { text: SHARE_LABELS[i] })]));
    });
    box.appendChild(list);
    box.appendChild(h("div", { className: "legend-note", text: S.cluster_size + ". " + S.cluster_hint + "." }));
  } else {
    list.appendChild(h("li", {}, [swatch(theme.pointMatch, "swatch-round"), h("span", { text: S.matches })]));
    list.appendChild(h("li", {}, [swatch(theme.pointOther, "swatch-round swatch-outline"), h("span", { text: S.others })]));
    box.appendChild(list);
  }
}
