// Numbers as the page's language writes them: "1.234" and "12,3 %" in Indonesian,
// "1,234" and "12.3 %" in English. Pure: no DOM.

export const DASH = "\u2013";

function isNumber(value) {
  return typeof value === "number" && isFinite(value);
}

export function localeOf(language) {
  return language && language.indexOf("en") === 0 ? "en-GB" : "id-ID";
}

export function formatter(language) {
  const locale = localeOf(language);
  const cache = {};
  function nf(digits) {
    if (!cache[digits]) {
      cache[digits] = new Intl.NumberFormat(locale, {
        minimumFractionDigits: digits, maximumFractionDigits: digits
      });
    }
    return cache[digits];
  }
  return {
    count(value) {
      return isNumber(value) ? nf(0).format(value) : DASH;
    },
    // An indicator value with its unit: "12,3 %", "3,85", "1.234".
    value(indicator, value) {
      if (!isNumber(value)) return DASH;
      if (indicator.unit === "%") return nf(1).format(value) + "\u00a0%";
      if (!indicator.ratio) return nf(0).format(value);
      return nf(2).format(value);
    },
    percent(value) {
      return isNumber(value) ? nf(1).format(value) + "\u00a0%" : DASH;
    },
    coord(value) {
      return nf(5).format(value);
    }
  };
}
