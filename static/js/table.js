// The home page's ranked table of the areas in view: worst first, sortable by column,
// a hover lights the area up on the map.

import { clear, h, swatch } from "./dom.js";
import { worseFirst } from "./lib/classify.js";
import { DASH } from "./lib/format.js";
import { compareBy } from "./lib/sort.js";
import { hasValue, isSuppressed } from "./lib/values.js";

// `onHover(code, entered)` is told when the pointer enters or leaves a row.
export function rankedTable(page, onHover) {
  let sort = { key: "rank", dir: 1 };
  const table = document.getElementById("ranked-table");

  function render() {
    const { cfg, S, fmt, KAB } = page;
    const state = page.state();
    const ind = page.shownIndicator();
    const sc = page.scope();
    const rows = page.values.rowsOf(page.shownKey());
    const showKec = sc.level === "desa" && state.area === KAB;
    document.getElementById("ranked-title").textContent =
      (sc.level === "kecamatan" ? S.kecamatan : S.village) + " \u00b7 " + ind.name +
      (state.area !== KAB ? " \u00b7 " + S.kecamatan + " " + page.areaName(state.area) : "");

    const items = sc.codes.map((code) => {
      const row = rows[code];
      const feature = sc.level === "desa" ? page.villageFeature(code) : null;
      const kec = feature && page.kecamatan[feature.properties.parent];
      const shown = hasValue(row);
      return {
        code, row, name: page.areaName(code), kec: kec ? kec.name : "",
        value: shown ? row.value : null,
        numerator: shown ? row.numerator : null,
        denominator: shown ? row.denominator : null
      };
    });
    const order = worseFirst(ind);
    items.filter((it) => it.value !== null).sort((a, b) => order(a.value, b.value))
      .forEach((it, i) => { it.rank = i + 1; });

    const columns = [
      { key: "rank", label: "#", title: S.rank, num: true },
      { key: "name", label: sc.level === "kecamatan" ? S.kecamatan : S.village }
    ];
    if (cfg.valuesAllowed) columns.push({ key: "value", label: S.value + (ind.unit ? " (" + ind.unit + ")" : ""), num: true });
    if (ind.ratio && cfg.valuesAllowed) {
      columns.push({ key: "numerator", label: ind.coverage ? S.coverage_untouched : S.numerator, num: true });
      columns.push({ key: "denominator", label: ind.coverage ? S.coverage_counted : S.denominator, num: true });
    }
    if (!columns.some((c) => c.key === sort.key)) sort = { key: "rank", dir: 1 };

    const headRow = clear(table.tHead.rows[0]);
    columns.forEach((col) => {
      const active = sort.key === col.key;
      const button = h("button", { type: "button", className: "sort", title: S.sort_by + " " + (col.title || col.label) }, [
        col.label,
        h("span", { className: "sort-mark", "aria-hidden": "true", text: active ? (sort.dir > 0 ? " \u25b2" : " \u25bc") : "" })
      ]);
      button.addEventListener("click", () => {
        sort = { key: col.key, dir: sort.key === col.key ? -sort.dir : 1 };
        render();
      });
      headRow.appendChild(h("th", {
        scope: "col", className: col.num ? "num" : "",
        "aria-sort": active ? (sort.dir > 0 ? "ascending" : "descending") : "none"
      }, [button]));
    });

    items.sort(compareBy(sort.key, sort.dir));

    const body = clear(table.tBodies[0]);
    items.forEach((it) => {
      let nameCell;
      if (sc.level === "kecamatan") {
        nameCell = h("button", { type: "button", className: "link-button", text: it.name });
        nameCell.addEventListener("click", () => { page.setState({ area: it.code, level: "desa" }); });
      } else {
        nameCell = h("a", { href: page.villageUrl(it.code), text: it.name });
      }
      const valueText = isSuppressed(it.row) ? S.suppressed : (it.value === null ? S.no_data : fmt.value(ind, it.value));
      const cells = [
        h("td", { className: "num", text: it.rank || DASH }),
        h("td", {}, [nameCell, showKec && it.kec ? h("span", { className: "cell-sub", text: it.kec }) : null])
      ];
      if (cfg.valuesAllowed) {
        cells.push(h("td", { className: "num" }, [page.model ? swatch(page.model.colorOf(it.row)) : null, valueText]));
      }
      if (ind.ratio && cfg.valuesAllowed) {
        cells.push(h("td", { className: "num", text: fmt.count(it.numerator) }));
        cells.push(h("td", { className: "num", text: fmt.count(it.denominator) }));
      }
      const tr = h("tr", { dataset: { code: it.code } }, cells);
      tr.addEventListener("mouseenter", () => onHover(it.code, true));
      tr.addEventListener("mouseleave", () => onHover(it.code, false));
      body.appendChild(tr);
    });
    table.dataset.rows = String(items.length);
  }

  return { render };
}
