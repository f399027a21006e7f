// The home page's charts (Chart.js, a classic script read from window.Chart): the
// sanitation ladder and out-of-school children per age band, for the kecamatan of the
// kabupaten or the villages of a kecamatan, with the kabupaten as the last bar.

import { hasValue, isSuppressed } from "./lib/values.js";

export function createCharts(page) {
  const charts = { ladder: null, ats: null };

  function chartAreas() {
    const { S, KAB } = page;
    const state = page.state();
    const list = [];
    if (state.area === KAB) {
      page.kecCodes.forEach((code) => list.push({ code, label: page.kecamatan[code].name }));
    } else {
      page.villageFeatures(state.area).forEach((f) => list.push({ code: f.properties.code, label: f.properties.name }));
      list.push({ code: state.area, label: S.kecamatan + " " + page.kecamatan[state.area].name });
    }
    list.push({ code: KAB, label: S.kabupaten });
    return list;
  }

  function tooltip(item) {
    const { S, fmt } = page;
    const row = item.dataset.rows[item.dataIndex];
    if (isSuppressed(row)) return item.dataset.label + ": " + S.suppressed;
    if (!hasValue(row)) return item.dataset.label + ": " + S.no_data;
    return item.dataset.label + ": " + fmt.percent(row.value) + " (" + fmt.count(row.numerator) + " / " + fmt.count(row.denominator) + ")";
  }

  function datasetsFor(codes, labels, colors, areas) {
    return codes.filter((code) => page.indicators[code]).map((code, i) => {
      const rows = areas.map((a) => page.values.rowsOf(code)[a.code]);
      return {
        label: labels[i], backgroundColor: colors[i], borderColor: page.theme.chartBorder, borderWidth: 0.5,
        data: rows.map((r) => (hasValue(r) ? r.value : null)), rows
      };
    });
  }

  function render() {
    const Chart = window.Chart;
    if (!Chart) return;
    const { cfg, S, theme } = page;
    const section = document.querySelector(".charts");
    if (!cfg.valuesAllowed || !cfg.period) { section.hidden = true; return; }
    const areas = chartAreas();
    const labels = areas.map((a) => a.label);
    const ladderLabels = cfg.ladder.map((code, i) => cfg.sanitationLevels[String(i)] || code);
    const height = Math.max(220, 26 * areas.length + 90) + "px";
    const common = {
      responsive: true, maintainAspectRatio: false, animation: false,
      plugins: { tooltip: { callbacks: { label: tooltip } }, legend: { position: "bottom", labels: { boxWidth: 14 } } }
    };
    document.getElementById("ladder-chart").parentNode.style.height = height;
    if (charts.ladder) charts.ladder.destroy();
    charts.ladder = new Chart(document.getElementById("ladder-chart"), {
      type: "bar",
      data: { labels, datasets: datasetsFor(cfg.ladder, ladderLabels, theme.ladder, areas) },
      options: Object.assign({}, common, {
        indexAxis: "y",
        scales: {
          x: { stacked: true, min: 0, max: 100, title: { display: true, text: S.share_households } },
          y: { stacked: true, ticks: { autoSkip: false } }
        }
      })
    });
    document.getElementById("ats-chart").parentNode.style.height = height;
    if (charts.ats) charts.ats.destroy();
    charts.ats = new Chart(document.getElementById("ats-chart"), {
      type: "bar",
      data: {
        labels,
        datasets: datasetsFor(cfg.outOfSchool, cfg.outOfSchool.map((c) => S[c] || c), theme.outOfSchool, areas)
      },
      options: Object.assign({}, common, {
        indexAxis: "y",
        scales: { x: { min: 0, title: { display: true, text: S.share_children } }, y: { ticks: { autoSkip: false } } }
      })
    });
    section.dataset.ready = "1";
  }

  return { render };
}
