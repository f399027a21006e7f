// The village page's table of every indicator: the village against its kecamatan and the
// kabupaten, grouped by topic, with a chip where the village is worse or better.

import { clear, h } from "./dom.js";
import { isWorse } from "./lib/classify.js";
import { DASH } from "./lib/format.js";
import { isJudged } from "./lib/palette.js";
import { hasValue, isSuppressed } from "./lib/values.js";

export function renderIndicatorTable(page) {
  const { cfg, S, fmt } = page;
  const V = cfg.village;

  function cell(ind, row) {
    if (isSuppressed(row)) return h("td", { className: "num", title: S.suppressed_hint, text: S.suppressed });
    if (!hasValue(row)) return h("td", { className: "num", text: cfg.valuesAllowed ? S.no_data : DASH });
    const children = [fmt.value(ind, row.value)];
    if (ind.ratio) {
      children.push(h("span", { className: "nd", text: fmt.count(row.numerator) + " / " + fmt.count(row.denominator) }));
    }
    return h("td", { className: "num" }, children);
  }

  function comparison(ind, mine, kab) {
    if (!isJudged(ind) || !hasValue(mine) || !hasValue(kab) || mine.value === kab.value) return null;
    const worse = isWorse(ind, mine.value, kab.value);
    return h("span", {
      className: "chip " + (worse ? "chip-worse" : "chip-better"),
      text: (worse ? "\u25b2 " : "\u25bc ") + (worse ? S.worse_than_kabupaten : S.better_than_kabupaten)
    });
  }

  const table = document.getElementById("indicator-table");
  const body = clear(table.tBodies[0]);
  const state = page.state();
  let topic = null;
  cfg.indicators.forEach((ind) => {
    if (ind.topic !== topic) {
      topic = ind.topic;
      body.appendChild(h("tr", { className: "topic-row" }, [
        h("th", { colspan: "4", scope: "colgroup", text: cfg.topics[topic] || topic })
      ]));
    }
    const rows = page.values.rowsOf(ind.code);
    const name = h("th", { scope: "row" }, [
      h("span", { text: ind.name }),
      ind.unit !== "%" ? h("span", { className: "nd", text: ind.unit }) : null,
      comparison(ind, rows[V.code], rows[V.kabupaten.code])
    ]);
    body.appendChild(h("tr", {
      className: ind.code === state.indicator ? "is-highlighted" : "",
      dataset: { indicator: ind.code }
    }, [name, cell(ind, rows[V.code]), cell(ind, rows[V.kecamatan.code]), cell(ind, rows[V.kabupaten.code])]));
  });
  table.dataset.rows = String(cfg.indicators.length);
  // Bring the indicator the visitor came from into view, inside the table only.
  const highlighted = body.querySelector("tr.is-highlighted");
  const wrap = table.parentNode;
  if (highlighted) {
    wrap.scrollTop += highlighted.getBoundingClientRect().top - wrap.getBoundingClientRect().top -
      table.tHead.getBoundingClientRect().height - 8;
  }
}
