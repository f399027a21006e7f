// The dashboard's quality badges: beside each area's indicator value in the ranked table,
// the share of its households with a quality flag and whether the village's data for the
// open round was approved; with the "approved villages only" toggle (?disetujui=1, bound
// in controls.js: the figures become the approved villages' sums) the table keeps only
// the approved. For roles with an account (the API answers nothing to others).

import { getJSON } from "./data.js";
import { h } from "./dom.js";

const controls = document.getElementById("quality-controls");
const table = document.getElementById("ranked-table");

function badgeClass(share) {
  if (share === null || share === undefined) return "q-badge";
  if (share < 5) return "q-badge ok";
  if (share < 15) return "q-badge wait";
  return "q-badge bad";
}

// Village rows as they are; a kecamatan's from the sums of its villages (never an
// average of shares), approved when every village with households is.
function areaOf(code, villages) {
  if (villages[code]) return villages[code];
  let households = 0, flagged = 0, approved = true, any = false;
  Object.values(villages).forEach((v) => {
    if (!v.code.startsWith(code + ".")) return;
    any = true;
    households += v.households;
    flagged += v.flagged;
    if (v.households && v.signoff !== "disetujui") approved = false;
  });
  if (!any) return null;
  return {
    share: households ? Math.round((1000 * flagged) / households) / 10 : null,
    signoff: approved && households ? "disetujui" : null
  };
}

if (controls && table) {
  getJSON(controls.dataset.url).then((data) => {
    const villages = {};
    (data.features || []).forEach((f) => { villages[f.properties.code] = f.properties; });
    if (!Object.keys(villages).length) return;
    controls.hidden = false;
    const toggle = document.getElementById("approved-only");

    // The indicator the table shows (the address holds it) and the dashboard's period:
    // a village's outlier flags for them get a marker beside its value.
    function outliersOf(code) {
      const v = villages[code];
      if (!v || !v.outliers) return [];
      const indicator = new URLSearchParams(window.location.search).get("indicator") || controls.dataset.indicator;
      return v.outliers.filter((f) => f.indicator === indicator && f.period === controls.dataset.period);
    }

    function decorate() {
      observer.disconnect();
      table.querySelectorAll("tbody tr[data-code]").forEach((tr) => {
        const area = areaOf(tr.dataset.code, villages);
        tr.querySelectorAll(".quality-cell-badge, .outlier-mark").forEach((old) => old.remove());
        const outliers = outliersOf(tr.dataset.code);
        if (outliers.length) {
          tr.cells[Math.min(2, tr.cells.length - 1)].appendChild(h("span", {
            className: "outlier-mark",
            title: outliers.map((f) => f.rule_name).join("; "),
            "aria-label": outliers.map((f) => f.rule_name).join("; "),
            text: "\u2691"
          }));
        }
        if (area) {
          const cell = tr.cells[Math.min(2, tr.cells.length - 1)];
          const text = controls.dataset.label + " " + (area.share === null ? "–" : (100 - area.share).toFixed(1)) +
            (area.signoff === "disetujui" ? " \u2713" : "");
          cell.appendChild(h("span", {
            className: badgeClass(area.share) + " quality-cell-badge",
            title: area.signoff === "disetujui" ? controls.dataset.approvedLabel : "",
            text
          }));
        }
        tr.hidden = toggle.checked && !(area && area.signoff === "disetujui");
      });
      observer.observe(table.tBodies[0], { childList: true });
    }

    const observer = new MutationObserver(decorate);
    toggle.addEventListener("change", decorate);
    decorate();
  });
}
