// Quantile classes and the choropleth model of one indicator. Pure: no DOM.

import { isJudged, palette } from "./palette.js";
import { hasValue, isSuppressed } from "./values.js";

// Up to `maxClasses` quantile classes; class i holds values in (t[i-1], t[i]].
export function classify(values, maxClasses) {
  const sorted = values.filter((v) => typeof v === "number" && isFinite(v)).sort((a, b) => a - b);
  const n = sorted.length;
  if (!n) return { thresholds: [], count: 0 };
  const k = Math.min(maxClasses, n);
  const thresholds = [];
  for (let i = 1; i < k; i++) {
    const t = sorted[Math.ceil((i * n) / k) - 1];
    const last = thresholds[thresholds.length - 1];
    if (t < sorted[n - 1] && (last === undefined || t > last)) thresholds.push(t);
  }
  return { thresholds, count: thresholds.length + 1 };
}

export function classOf(classes, value) {
  let i = 0;
  while (i < classes.thresholds.length && value > classes.thresholds[i]) i++;
  return i;
}

// "Worse first" ordering of values of an indicator.
export function worseFirst(indicator) {
  const sign = indicator.higher_is_better ? 1 : -1;
  return (a, b) => sign * (a - b);
}

// The worse of two values of a judged indicator: true when `mine` is worse than `other`.
export function isWorse(indicator, mine, other) {
  return indicator.higher_is_better ? mine < other : mine > other;
}

// A choropleth of one indicator over rows {area_code: row}, limited to `codes`, coloured
// from `theme` ({palettes, suppressed, noData}).
export function choropleth(indicator, rowsByArea, codes, theme) {
  const rows = codes.map((code) => rowsByArea[code]);
  const classes = classify(rows.filter(hasValue).map((r) => r.value), 5);
  const colors = palette(indicator, classes.count, theme.palettes);
  const stats = colors.map(() => ({ min: Infinity, max: -Infinity, n: 0 }));
  let suppressed = 0;
  let missing = 0;
  rows.forEach((row) => {
    if (isSuppressed(row)) { suppressed += 1; return; }
    if (!hasValue(row)) { missing += 1; return; }
    const s = stats[classOf(classes, row.value)];
    s.min = Math.min(s.min, row.value);
    s.max = Math.max(s.max, row.value);
    s.n += 1;
  });
  return {
    indicator,
    judged: isJudged(indicator),
    classes,
    colors,
    stats,
    suppressed,
    missing,
    colorOf(row) {
      if (isSuppressed(row)) return theme.suppressed;
      if (!hasValue(row)) return theme.noData;
      return colors[classOf(classes, row.value)];
    }
  };
}
