"""Issue 5's dashboard in a real browser: a manager opens it on the demo program, sees the funnel
drawn as SVG, clicks a number on the chart and lands on the referrals behind it."""

import datetime as dt
import re

import pytest
from playwright.sync_api import expect

from refloop.analytics.scope import month_after
from refloop.demo.loader import demo_load
from refloop.referrals.models import Referral
from refloop.web.forms_dashboards import last_full_month, practice_tz
from tests.browser.test_journey import sign_in

pytestmark = pytest.mark.browser

DASHBOARD_SHOT = "/tmp/dashboard.png"


@pytest.fixture
def demo(transactional_db):
    """The demo program at a small scale (its load builds the fact table too)."""
    return demo_load(scale=0.02)


def test_it_drills_from_a_number_on_the_funnel_to_its_referrals(browser_page, demo):
    page = browser_page()
    sign_in(page, "manager")
    page.goto("/dashboards/")

    expect(page.get_by_role("heading", name="Program dashboard", level=1)).to_be_visible()
    funnel = page.locator("svg#funnel")
    expect(funnel).to_be_visible()
    expect(funnel.locator("title").first).to_have_text("Referral funnel")
    page.screenshot(path=DASHBOARD_SHOT, full_page=True)
    # The count printed at the end of the "Scheduled" bar is a link to those referrals.
    number = funnel.locator("a.drill[aria-label^='Scheduled:'] text")
    shown = int(number.text_content().replace(",", ""))
    assert shown > 0

    number.click()

    expect(page).to_have_url(re.compile(r"/dashboards/drill/\?.*cohort=funnel\.step"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Funnel: reached scheduled")
    expect(page.locator(".drill-total")).to_have_text(f"{shown} referral{'s' * (shown != 1)}")
    rows = page.get_by_role("table", name="Referrals").locator("tbody tr")
    expect(rows).to_have_count(min(shown, 50))
    expect(rows.first.get_by_role("link").first).to_have_text(re.compile(r"R-\d{7}"))


def test_it_narrows_the_dashboard_when_a_filter_changes(browser_page, demo):
    month = last_full_month()
    start, end = (
        dt.datetime.combine(d, dt.time.min, practice_tz()) for d in (month, month_after(month))
    )
    cardiology = Referral.objects.filter(
        service_line__code="cardiology", received_at__gte=start, received_at__lt=end
    ).count()
    page = browser_page()
    sign_in(page, "manager")
    page.goto("/dashboards/")
    received = page.locator("svg#funnel a.drill[aria-label^='Received:'] text")
    expect(received).to_be_visible()

    page.get_by_role("combobox", name="Service line").select_option("cardiology")

    expect(page).to_have_url(re.compile(r"/dashboards/\?.*line=cardiology"))
    expect(received).to_have_text(f"{cardiology:,}")
