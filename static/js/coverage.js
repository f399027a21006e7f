// The "belum tersentuh program" layer of the home map: of the households (or members) an
// indicator counts, the share without an active intervention of any programme of the
// year addressing it. Rows come from the programmes' coverage API (stored rows, summed per
// level there) and are kept in the page's value store under their own key, so that the
// map, legend, table and KPI cards read them like any indicator.

export const COVERAGE_PREFIX = "cakupan:";

export function coverageKey(code) {
  return COVERAGE_PREFIX + code;
}

// The pseudo-indicator the parts of the page are given: a share where more is worse.
export function coverageIndicator(indicator, S, year) {
  return {
    code: coverageKey(indicator.code),
    name: S.coverage + " \u00b7 " + indicator.name,
    description: S.coverage_note.replace("%(year)s", String(year)),
    topic: indicator.topic,
    unit: "%",
    ratio: true,
    higher_is_better: false,
    coverage: true
  };
}

// API rows {region, name, counted, reached, untouched} (null when suppressed) as value
// rows of `key`: value = untouched / counted, in percent; nothing counted = no value.
export function coverageRows(rows, key) {
  return rows.map((row) => {
    const hidden = row.counted === null || row.untouched === null;
    return {
      indicator: key,
      area_code: row.region,
      area_name: row.name,
      numerator: hidden ? null : row.untouched,
      denominator: hidden ? null : row.counted,
      reached: hidden ? null : row.reached,
      value: hidden || !row.counted ? null : (100 * row.untouched) / row.counted,
      suppressed: hidden
    };
  });
}

// "12 of 40 not yet reached; 28 with an intervention", for a tooltip.
export function coverageDetail(row, S, fmt) {
  return S.coverage_detail
    .replace("%(untouched)s", fmt.count(row.numerator))
    .replace("%(counted)s", fmt.count(row.denominator))
    .replace("%(reached)s", fmt.count(row.reached));
}
