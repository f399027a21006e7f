"""Unit tests of the dashboard's ES modules (static/js), run in headless Chromium.

The test files under tests/browser/js/ import the modules as the pages do. The pure
helpers (static/js/lib) are tested in a module worker, where there is no DOM: a helper
that reaches for `document` or `window` fails there. Modules that need the page (the
theme read from portal.css, the DOM builder) are tested in the page. Playwright serves
the files from the checkout under a made-up origin: no server, no database.
"""

from __future__ import annotations

import mimetypes
from pathlib import Path
from urllib.parse import urlsplit

import pytest

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[2]
JS_TESTS = Path(__file__).resolve().parent / "js"
ORIGIN = "http://js-units.test"
SOURCES = {"/static/": ROOT / "static", "/js-tests/": JS_TESTS}
# The portal's policy for scripts (settings.CONTENT_SECURITY_POLICY, without the nonce
# only django-leaflet's map tag uses): the modules and the worker must run under it.
CSP = "default-src 'self'; script-src 'self'; style-src 'self'; object-src 'none'"
WORKER_TESTS = sorted(path.name for path in JS_TESTS.glob("*.test.js"))
PAGE_TESTS = sorted(f"page/{path.name}" for path in (JS_TESTS / "page").glob("*.page.js"))


@pytest.fixture(scope="module", autouse=True)
def _regions_back_after_module():
    """These tests use no database: nothing to put back (overrides the conftest's)."""
    yield


def _serve(extra: dict[str, str]):
    """A route handler answering from the checkout (and from `extra`: path -> body)."""

    def handle(route):
        path = urlsplit(route.request.url).path
        if path in extra:
            body = extra[path]
        else:
            file = None
            for prefix, folder in SOURCES.items():
                if path.startswith(prefix):
                    candidate = (folder / path[len(prefix) :]).resolve()
                    if candidate.is_relative_to(folder) and candidate.is_file():
                        file = candidate
            if file is None:
                route.fulfill(status=404, body="not found")
                return
            body = file.read_bytes()
        kind = mimetypes.guess_type(path)[0] or "application/octet-stream"
        if kind == "application/javascript":
            kind = "text/javascript"
        route.fulfill(
            status=200, body=body, headers={"Content-Type": kind, "Content-Security-Policy": CSP}
        )

    return handle


def run_units(browser, worker: list[str], page: list[str], extra: dict[str, str] | None = None):
    """The harness's results ({passed, failed}) and the page's console errors."""
    context = browser.new_context()
    try:
        tab = context.new_page()
        errors: list[str] = []
        tab.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        tab.on("pageerror", lambda error: errors.append(str(error)))
        context.route(f"{ORIGIN}/**", _serve(extra or {}))
        tab.goto(f"{ORIGIN}/js-tests/harness.html?worker={','.join(worker)}&page={','.join(page)}")
        tab.wait_for_selector("body[data-done='1']", timeout=15_000)
        return tab.evaluate("() => window.testResults"), errors
    finally:
        context.close()


def test_js_unit_tests_pass(browser):
    assert WORKER_TESTS and PAGE_TESTS
    results, errors = run_units(browser, WORKER_TESTS, PAGE_TESTS)
    failures = "\n".join(f"{f['name']}: {f['message']}" for f in results["failed"])
    assert not results["failed"], failures
    assert errors == []
    # Every file ran its tests, the pure ones in the worker.
    for name in WORKER_TESTS:
        assert any(n.startswith(f"worker: {name}: ") for n in results["passed"]), name
    for name in PAGE_TESTS:
        assert any(n.startswith(f"page: {Path(name).name}: ") for n in results["passed"]), name


FAILING = """
import { assert, test } from "/js-tests/runner.js";
test("one and one", () => assert.equal(1 + 1, 3));
test("passes", () => assert.ok(true));
"""
TOUCHES_DOM = """
import { assert, test } from "/js-tests/runner.js";
test("reads the page", () => assert.ok(document.title !== undefined));
"""
BROKEN = "import { nothing } from '/static/js/lib/format.js';\n"


def test_js_harness_reports_failures(browser):
    """The harness cannot pass silently: a wrong assertion, a helper touching the DOM in
    the worker and a module that does not load are each reported as failures."""
    extra = {
        "/js-tests/generated/failing.test.js": FAILING,
        "/js-tests/generated/dom.test.js": TOUCHES_DOM,
        "/js-tests/generated/broken.test.js": BROKEN,
    }
    results, _ = run_units(
        browser,
        ["generated/failing.test.js", "generated/dom.test.js", "generated/broken.test.js"],
        [],
        extra,
    )
    failed = {f["name"]: f["message"] for f in results["failed"]}
    assert "expected 3, got 2" in failed["worker: failing.test.js: one and one"]
    assert "document is not defined" in failed["worker: dom.test.js: reads the page"]
    assert "import failed" in failed["worker: broken.test.js: import"]
    assert results["passed"] == ["worker: failing.test.js: passes"]
