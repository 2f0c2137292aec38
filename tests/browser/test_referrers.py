"""Issue 6, referrer relationships in a real browser: the demo liaison opens their shared list
of fading referrers, sorts it, and opens a referrer's profile, on a phone-sized screen."""

import re

import pytest
from playwright.sync_api import expect

from refloop.demo.loader import demo_load
from tests.browser.test_journey import sign_in

pytestmark = pytest.mark.browser


@pytest.fixture
def demo(transactional_db):
    return demo_load(scale=0.02)


def test_it_takes_a_liaison_from_fading_referrers_to_a_profile(browser_page, demo):
    page = browser_page()
    page.set_viewport_size({"width": 390, "height": 844})
    sign_in(page, "liaison")
    page.get_by_role("link", name="Referrers", exact=True).click()
    expect(page.get_by_role("heading", name="Referrers", level=1)).to_be_visible()
    page.get_by_role("link", name="Fading referrers").click()
    expect(page.get_by_role("heading", name="Fading referrers", level=1)).to_be_visible()
    rows = page.get_by_role("table", name="Referrers").locator("tbody tr")
    expect(rows.first.locator(".badge").first).to_have_text(re.compile("declining|dormant"))
    page.get_by_role("link", name="Total", exact=True).click()
    expect(page).to_have_url(re.compile(r"sort=total"))
    name = rows.first.get_by_role("link").first.text_content()
    rows.first.get_by_role("link").first.click()
    expect(page.get_by_role("heading", name=name, level=1)).to_be_visible()
    expect(page.locator("figure.chart-wrap svg")).to_be_visible()
    expect(page.get_by_role("heading", name="Outreach")).to_be_visible()
