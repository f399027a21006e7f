// The colours of maps and charts, from CSS variables of static/css/portal.css (one place
// for every colour; the page's stylesheet and its canvas/SVG drawing agree). This module
// turns a variable lookup into a theme and checks it. Pure: no DOM (dom.js reads the CSS).

import { PALETTE_SIZES, parseColors } from "./palette.js";

// Single colours: theme key -> CSS variable.
export const COLOR_VARIABLES = {
  suppressed: "--map-suppressed",
  noData: "--map-no-data",
  areaBorder: "--map-area-border",
  areaHover: "--map-area-hover",
  areaOther: "--map-area-other",
  kecamatanOutline: "--map-kecamatan-outline",
  villageOutline: "--map-village-outline",
  marker: "--map-marker",
  clusterBorder: "--points-cluster-border",
  pointMatch: "--points-match",
  pointMatchBorder: "--points-match-border",
  pointOther: "--points-other",
  pointOtherBorder: "--points-other-border",
  chartBorder: "--chart-border"
};

// Colour lists: theme key -> [CSS variable, number of colours].
export const LIST_VARIABLES = {
  share: ["--points-share", 4],
  ladder: ["--chart-ladder", 5],
  outOfSchool: ["--chart-ats", 3]
};

export const FAMILIES = ["judged", "neutral"];

export function paletteVariable(family, size) {
  return `--palette-${family}-${size}`;
}

// A theme from `lookup(name)` -> the variable's value ("" when it is not set).
export function themeFrom(lookup) {
  const read = (name) => String(lookup(name) || "").trim();
  const theme = { palettes: {} };
  FAMILIES.forEach((family) => {
    theme.palettes[family] = {};
    PALETTE_SIZES.forEach((size) => {
      theme.palettes[family][size] = parseColors(read(paletteVariable(family, size)));
    });
  });
  Object.keys(COLOR_VARIABLES).forEach((key) => { theme[key] = read(COLOR_VARIABLES[key]); });
  Object.keys(LIST_VARIABLES).forEach((key) => { theme[key] = parseColors(read(LIST_VARIABLES[key][0])); });
  return theme;
}

const COLOR_RE = /^#([0-9a-f]{3}|[0-9a-f]{6})$/i;

// What is wrong with a theme (variables missing, lists too short, not a colour): [] when
// nothing is.
export function themeProblems(theme) {
  const problems = [];
  const check = (name, colors, size) => {
    if (colors.length !== size) problems.push(`${name}: ${size} colours expected, ${colors.length} found`);
    colors.filter((c) => !COLOR_RE.test(c)).forEach((c) => problems.push(`${name}: ${c} is not a #hex colour`));
  };
  FAMILIES.forEach((family) => {
    PALETTE_SIZES.forEach((size) => check(paletteVariable(family, size), theme.palettes[family][size], size));
  });
  Object.keys(COLOR_VARIABLES).forEach((key) => {
    check(COLOR_VARIABLES[key], theme[key] ? [theme[key]] : [], 1);
  });
  Object.keys(LIST_VARIABLES).forEach((key) => check(LIST_VARIABLES[key][0], theme[key], LIST_VARIABLES[key][1]));
  return problems;
}
