// Small DOM helpers. Text from the API only ever reaches the page through textContent or
// DOM APIs (never innerHTML); no inline handlers and no style attributes in markup (the
// Content-Security-Policy forbids them); element.style set from here is fine.

import { themeFrom, themeProblems } from "./lib/theme.js";

// The page's configuration, handed over by json_script (no inline script).
export function readConfig(id) {
  const node = document.getElementById(id);
  return node ? JSON.parse(node.textContent) : null;
}

// h("td", {className: "num", text: "12"}, [child, "text", ...]) builds an element.
export function h(tag, props, children) {
  const node = document.createElement(tag);
  Object.keys(props || {}).forEach((key) => {
    const value = props[key];
    if (value === null || value === undefined || value === false) return;
    if (key === "className") node.className = value;
    else if (key === "text") node.textContent = String(value);
    else if (key === "dataset") {
      Object.keys(value).forEach((name) => { node.dataset[name] = value[name]; });
    } else node.setAttribute(key, value === true ? "" : String(value));
  });
  (children || []).forEach((child) => {
    if (child === null || child === undefined || child === false) return;
    node.appendChild(child instanceof Node ? child : document.createTextNode(String(child)));
  });
  return node;
}

export function clear(node) {
  while (node.firstChild) node.removeChild(node.firstChild);
  return node;
}

export function swatch(color, extraClass) {
  const node = h("span", { className: "swatch" + (extraClass ? " " + extraClass : ""), "aria-hidden": "true" });
  node.style.backgroundColor = color;
  return node;
}

// The map and chart colours from the stylesheet's CSS variables. A variable missing from
// portal.css is reported on the console (the browser tests fail on console errors).
export function readTheme(root) {
  const style = getComputedStyle(root || document.documentElement);
  const theme = themeFrom((name) => style.getPropertyValue(name));
  const problems = themeProblems(theme);
  if (problems.length) console.error("Colour variables of portal.css: " + problems.join("; "));
  return theme;
}
