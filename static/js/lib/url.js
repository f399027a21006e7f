// Addresses: area codes, query strings, followed links. Pure: no DOM.

const CODE_RE = /^[0-9]{2}(\.[0-9]{2}(\.[0-9]{2}(\.[0-9]{4})?)?)?$/;

// A province, kabupaten, kecamatan or desa code ("64", "64.09", "64.09.01", "64.09.01.1001").
export function isCode(value) {
  return typeof value === "string" && CODE_RE.test(value);
}

// `base` with the non-empty `params` appended as a query string.
export function query(base, params) {
  const search = new URLSearchParams();
  Object.keys(params || {}).forEach((key) => {
    const value = params[key];
    if (value !== null && value !== undefined && value !== "") search.set(key, value);
  });
  const text = search.toString();
  return text ? base + (base.indexOf("?") >= 0 ? "&" : "?") + text : base;
}

// Path and query of `url` when it is on the origin of `here`, else null: cursor links
// of the API are absolute, and only this site's own are followed.
export function sameOriginPath(url, here) {
  const parsed = new URL(url, here);
  return parsed.origin === new URL(here).origin ? parsed.pathname + parsed.search : null;
}
