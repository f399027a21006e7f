"""Browser tests: headless Chromium (Debian's /usr/bin/chromium) driven by playwright.

The live server needs committed data, so these tests use the transactional database,
whose teardown empties every table. Each test therefore (re)loads what it needs, and the
PPU regions are put back after the module for whatever test the worker runs next.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.db import connections
from django.test import Client
from playwright.sync_api import sync_playwright

from demo.generator import households_generate
from villages.models import Region

CHROMIUM = "/usr/bin/chromium"
ASYNC_UNSAFE = "DJANGO_ALLOW_ASYNC_UNSAFE"
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
VIEWPORT = {"width": 1280, "height": 800}


def _load_regions() -> None:
    if not Region.objects.filter(code="64.09").exists():
        with open(os.devnull, "w") as quiet:
            call_command("load_regions", scope="ppu", verbosity=0, stdout=quiet)


@pytest.fixture(scope="module", autouse=True)
def _regions_back_after_module(django_db_setup, django_db_blocker):
    """The transactional teardown of the last test emptied the regions: reload them."""
    yield

    with django_db_blocker.unblock():
        _load_regions()
        # Connections opened while playwright's loop ran may live in their own context:
        # close them, or the test database cannot be dropped at the end.
        connections.close_all()


@pytest.fixture(scope="module")
def browser(django_db_blocker):
    """Chromium for the tests of a module. The sync playwright API runs an event loop in
    this thread, and Django refuses ORM calls while one runs unless
    DJANGO_ALLOW_ASYNC_UNSAFE is set: it is set while the loop runs (not at import, where
    it would leak into every process the session starts, e.g. `manage.py check --deploy`)."""
    if not shutil.which(CHROMIUM):
        # A silent skip would let a broken setup pass: scripts/test installs it.
        pytest.fail(f"{CHROMIUM} not found: install Debian's chromium (scripts/test does).")

    previous = os.environ.get(ASYNC_UNSAFE)
    os.environ[ASYNC_UNSAFE] = "true"
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=CHROMIUM,
                args=[
                    "--headless",
                    "--no-sandbox",
                    "--disable-gpu",
                    "--disable-background-networking",
                ],
            )
            yield browser
            browser.close()
            # The tests' ORM calls ran inside playwright's loop, on connections of their
            # own context: close them here, or they outlive the test database.
            with django_db_blocker.unblock():
                connections.close_all()
    finally:
        if previous is None:
            os.environ.pop(ASYNC_UNSAFE, None)
        else:
            os.environ[ASYNC_UNSAFE] = previous


@pytest.fixture
def census(transactional_db):
    """The PPU regions and 600 synthetic households with their indicator rollup."""

    _load_regions()
    households_generate(region_code="64.09", households=600, seed=1)


@pytest.fixture
def staff_user(transactional_db):
    return get_user_model().objects.create_superuser(
        "kabid-dinkes", "kabid@example.org", "x-test-pass-1"
    )


class Session:
    """A browser page that records what a person would notice: console errors,
    uncaught exceptions and every response."""

    def __init__(self, page, base_url: str):
        self.page = page
        self.base_url = base_url
        self.errors: list[str] = []
        self.responses = []
        page.on(
            "console",
            lambda message: (
                self.errors.append(f"console: {message.text}") if message.type == "error" else None
            ),
        )
        page.on("pageerror", lambda error: self.errors.append(f"pageerror: {error}"))
        page.on("response", lambda response: self.responses.append(response))
        page.set_default_timeout(15_000)

    def goto(self, path: str):
        return self.page.goto(self.base_url + path)

    def api_responses(self, part: str = "/api/"):
        return [response for response in self.responses if part in response.url]

    def wait_ready(self):
        self.page.wait_for_selector("#map[data-ready='1']")

    def screenshot(self, name: str) -> Path:
        ARTIFACTS.mkdir(exist_ok=True)
        path = ARTIFACTS / f"{name}.png"
        self.page.screenshot(path=str(path))
        return path


@pytest.fixture
def open_page(browser, live_server):
    """`open_page(user=None)`: a fresh browser context (logged in as `user` when given)."""
    contexts = []

    def make(user=None) -> Session:
        context = browser.new_context(viewport=VIEWPORT, locale="id-ID")
        contexts.append(context)
        if user is not None:
            client = Client()
            client.force_login(user)
            context.add_cookies(
                [
                    {
                        "name": "sessionid",
                        "value": client.cookies["sessionid"].value,
                        "url": live_server.url,
                    }
                ]
            )
        return Session(context.new_page(), live_server.url)

    yield make
    for context in contexts:
        context.close()
