// Colour classes of a choropleth. The colours themselves are CSS variables
// (static/css/portal.css, read by theme.js): this module only picks among them. Pure: no DOM.

export const PALETTE_SIZES = [3, 4, 5];

// Indicators in percent judge a condition (darker = worse); other values are plain
// amounts (darker = more).
export function isJudged(indicator) {
  return indicator.unit === "%";
}

// `count` colours for the indicator from `families` ({judged: {3: [...], 4: [...],
// 5: [...]}, neutral: {...}}): darker always means worse, so when higher is better the
// low values get the dark end.
export function palette(indicator, count, families) {
  const family = isJudged(indicator) ? families.judged : families.neutral;
  let colors;
  if (count <= 1) colors = [family[3][1]];
  else if (count === 2) colors = [family[3][0], family[3][2]];
  else colors = family[Math.min(count, 5)].slice();
  if (indicator.higher_is_better) colors.reverse();
  return colors;
}

// "#ffeda0 #feb24c, #f03b20" -> ["#ffeda0", "#feb24c", "#f03b20"].
export function parseColors(text) {
  return String(text || "").trim().split(/[\s,]+/).filter(Boolean);
}
