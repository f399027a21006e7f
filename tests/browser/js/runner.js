// A minimal test runner for the dashboard's ES modules: test files call test(name, fn)
// when imported; run() runs them in order and reports every failure. Driven by
// tests/browser/test_js_units.py (pytest + playwright), no node needed.

const registered = [];

export function test(name, fn) {
  registered.push({ name, fn });
}

function show(value) {
  try {
    return JSON.stringify(value, (key, v) => (typeof v === "number" && !isFinite(v) ? String(v) : v));
  } catch (error) {
    return String(value);
  }
}

function same(a, b) {
  if (Object.is(a, b)) return true;
  if (typeof a !== "object" || typeof b !== "object" || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  const keys = Object.keys(a);
  if (keys.length !== Object.keys(b).length) return false;
  return keys.every((key) => Object.prototype.hasOwnProperty.call(b, key) && same(a[key], b[key]));
}

export class AssertionError extends Error {}

export const assert = {
  equal(actual, expected, message) {
    if (!Object.is(actual, expected)) {
      throw new AssertionError(`${message ? message + ": " : ""}expected ${show(expected)}, got ${show(actual)}`);
    }
  },
  deepEqual(actual, expected, message) {
    if (!same(actual, expected)) {
      throw new AssertionError(`${message ? message + ": " : ""}expected ${show(expected)}, got ${show(actual)}`);
    }
  },
  ok(value, message) {
    if (!value) throw new AssertionError(message || `expected a true value, got ${show(value)}`);
  },
  throws(fn, message) {
    try {
      fn();
    } catch (error) {
      return;
    }
    throw new AssertionError(message || "expected an exception");
  }
};

// {passed: [name], failed: [{name, message}]}
export async function run(prefix) {
  const passed = [];
  const failed = [];
  for (const { name, fn } of registered.splice(0)) {
    const full = (prefix || "") + name;
    try {
      await fn();
      passed.push(full);
    } catch (error) {
      failed.push({ name: full, message: String(error && error.stack ? error.stack : error) });
    }
  }
  return { passed, failed };
}

// Imports each test module and runs its tests, named "<prefix><file>: <test>" (a module
// that does not load is a failure).
export async function importAndRun(modules, prefix) {
  const passed = [];
  const failed = [];
  for (const path of modules) {
    const name = (prefix || "") + path.split("/").pop() + ": ";
    try {
      await import(path);
    } catch (error) {
      registered.splice(0);
      failed.push({ name: name + "import", message: "import failed: " + error });
      continue;
    }
    const results = await run(name);
    passed.push(...results.passed);
    failed.push(...results.failed);
  }
  return { passed, failed };
}
