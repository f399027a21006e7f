// Fetching from the portal's API (same origin, session cookie).

import { query } from "./lib/url.js";
import { indexRows } from "./lib/values.js";

export const GEOJSON = "application/geo+json";

export function getJSON(url, accept) {
  return fetch(url, { credentials: "same-origin", headers: { Accept: accept || "application/json" } })
    .then((response) => {
      if (!response.ok) {
        const error = new Error("HTTP " + response.status);
        error.status = response.status;
        throw error;
      }
      return response.json();
    });
}

// Indicator values of one period, fetched once per address and kept indexed by indicator
// and area code; `extra` parameters go with every request (approved: "1").
export function valueStore(baseUrl, period, extra) {
  const values = {}; // indicator -> area code -> row
  const requests = {}; // url -> promise, so that no request is made twice
  return {
    rowsOf: (indicator) => values[indicator] || {},
    // Rows from another address, made into value rows by `convert` (coverage.js).
    loadFrom(url, convert) {
      if (!requests[url]) {
        requests[url] = getJSON(url).then((rows) => { indexRows(convert(rows), values); });
        requests[url].catch(() => { delete requests[url]; });
      }
      return requests[url];
    },
    load(params) {
      const url = query(baseUrl, Object.assign({}, params, extra || {}, { period }));
      if (!requests[url]) {
        requests[url] = getJSON(url).then((rows) => { indexRows(rows, values); });
        requests[url].catch(() => { delete requests[url]; });
      }
      return requests[url];
    }
  };
}
