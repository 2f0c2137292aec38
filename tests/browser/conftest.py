"""A real Chromium (Debian's, not a downloaded one) driving the app on pytest-django's live server.

Playwright's sync API runs an event loop in the test thread, and Django refuses database calls
from a thread with a running loop unless told it is safe: here it is, the loop only waits for the
browser. The live server runs in its own thread on the same (transactional) test database.
"""

import os
from pathlib import Path

import pytest

os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

CHROMIUM = Path(os.environ.get("REFLOOP_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
TIMEOUT_MS = 15_000


@pytest.fixture(scope="session", autouse=True)
def _live_server_without_media_url(request):
    """Start the live server with a MEDIA_URL for its test-only media handler, then put it back.

    Documents have no public URL (MEDIA_URL is None), but Django's live server wraps the app in a
    handler that serves MEDIA_ROOT under MEDIA_URL, and it breaks on None (and would claim every
    path on ""). It gets a path no page links to; the app still serves documents only through
    its access-logged views.
    """
    from django.conf import settings

    before = settings.MEDIA_URL
    settings.MEDIA_URL = "/no-public-media/"
    try:
        request.getfixturevalue("live_server")
    finally:
        settings.MEDIA_URL = before


@pytest.fixture(scope="session")
def chromium():
    """One headless Chromium for the session. A plain launch gets a fresh temporary profile from
    Playwright (removed on close); each person then gets their own context (cookies, session)."""
    if not CHROMIUM.exists():
        reason = f"no Chromium at {CHROMIUM} (apt-get install chromium)"
        if os.environ.get("REFLOOP_REQUIRE_BROWSER") == "1":
            pytest.fail(f"browser tests are required here, but there is {reason}")
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def browser_page(chromium, live_server):
    """A function opening a fresh context (a person at their own computer) and its page."""
    contexts = []

    def open_page():
        context = chromium.new_context(
            base_url=live_server.url, viewport={"width": 1280, "height": 900}
        )
        context.set_default_timeout(TIMEOUT_MS)
        contexts.append(context)
        return context.new_page()

    yield open_page
    for context in contexts:
        context.close()
