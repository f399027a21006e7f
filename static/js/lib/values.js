// Rows of /indicators/values/ and what they say. Pure: no DOM.

// Rows keyed by indicator, then by area code (merged into `into` when given).
export function indexRows(rows, into) {
  const index = into || {};
  rows.forEach((row) => {
    (index[row.indicator] = index[row.indicator] || {})[row.area_code] = row;
  });
  return index;
}

export function isSuppressed(row) {
  return Boolean(row && row.suppressed);
}

export function hasValue(row) {
  return Boolean(row) && !row.suppressed && typeof row.value === "number" && isFinite(row.value);
}
