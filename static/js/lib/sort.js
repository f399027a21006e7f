// Table sorting. Pure: no DOM.

// Rows compared by `key` (dir 1 ascending, -1 descending); empty values always last,
// strings in the browser's collation.
export function compareBy(key, dir) {
  return (a, b) => {
    const x = a[key];
    const y = b[key];
    if (x === null || x === undefined) return (y === null || y === undefined) ? 0 : 1;
    if (y === null || y === undefined) return -1;
    return (typeof x === "string" ? x.localeCompare(y) : x - y) * dir;
  };
}
