"""Campaigns in a real browser: a liaison writes a campaign from approved content, previews it as
one recipient would get it, and schedules it; a manager releases one held for access."""

import datetime as dt

import pytest
from django.core.cache import cache
from django.utils import timezone
from playwright.sync_api import expect

from refloop.demo.logins import demo_logins_ensure
from refloop.relations.models import TargetList
from tests import factories
from tests.analytics.test_turnaround import facts_stored
from tests.browser.test_journey import sign_in
from tests.campaigns.conftest import email_content, member

pytestmark = pytest.mark.browser

SHOT = "/tmp/campaign-preview.png"


@pytest.fixture
def world(transactional_db, settings):
    settings.REFLOOP_PRACTICE_NAME = "Riverside Specialty Care"
    settings.DEFAULT_FROM_EMAIL = "outreach@riverside.example"
    settings.REFLOOP_MAIL_DOMAIN = "riverside.example"
    cache.clear()
    users = demo_logins_ensure()
    liaison = next(u for u in users.values() if u.username == "liaison")
    target_list = TargetList.objects.create(
        name="Declining orthopedics",
        owner=liaison,
        shared=True,
        criteria={"segments": ["declining"]},
    )
    for n in (1, 2):
        member(target_list, n)
    line = factories.service_line()
    email_content(line=line)
    yield line
    cache.clear()


def test_it_writes_previews_and_schedules_a_campaign(browser_page, world):
    page = browser_page()
    sign_in(page, "liaison")
    page.get_by_role("link", name="Campaigns", exact=True).click()
    page.get_by_role("link", name="New campaign").click()
    page.locator("#id_name").fill("Knee clinic news")
    page.get_by_label("Target list").select_option(label="Declining orthopedics")
    page.get_by_label("Approved e-mail").select_option(label="Knee clinic")
    send_at = timezone.localtime() + dt.timedelta(hours=3)
    page.get_by_label("Send at").fill(send_at.strftime("%Y-%m-%dT%H:%M"))
    page.get_by_label("Sender name").fill("Leon Fairbanks, Riverside Specialty Care")
    page.get_by_role("button", name="Save draft").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Knee clinic news")

    page.get_by_role("link", name="Preview").click()
    expect(page.get_by_text("Advertisement from Riverside Specialty Care.")).to_be_visible()
    expect(page.get_by_text("Subject: New knee clinic hours")).to_be_visible()
    page.screenshot(path=SHOT, full_page=True)
    page.get_by_role("link", name="next →").click()
    expect(page.get_by_text("2 of 4 on the list", exact=False)).to_be_visible()

    page.get_by_role("link", name="Knee clinic news").click()
    page.get_by_role("button", name="Schedule").click()
    expect(page.get_by_text("The campaign is scheduled.")).to_be_visible()
    expect(page.locator("h1 .badge")).to_have_text("Scheduled")


def test_it_holds_a_campaign_for_a_slow_line_until_a_manager_releases_it(browser_page, world):
    facts_stored(world, 20, days=35.0)  # over the 30-day routine target
    page = browser_page()
    sign_in(page, "liaison")
    page.goto("/campaigns/new/")
    page.locator("#id_name").fill("Knee clinic news")
    page.get_by_label("Target list").select_option(label="Declining orthopedics")
    page.get_by_label("Approved e-mail").select_option(label="Knee clinic")
    page.get_by_label("Service line promoted").select_option(label="Orthopedics")
    send_at = timezone.localtime() + dt.timedelta(hours=3)
    page.get_by_label("Send at").fill(send_at.strftime("%Y-%m-%dT%H:%M"))
    page.get_by_role("button", name="Save draft").click()
    page.get_by_role("button", name="Schedule").click()
    expect(page.locator("h1 .badge")).to_have_text("Held (access)")
    expect(page.get_by_text("A manager decides whether it goes.")).to_be_visible()

    manager = browser_page()
    sign_in(manager, "manager")
    manager.goto("/campaigns/held/")
    manager.get_by_label("Decision").select_option(label="Release: send it")
    manager.get_by_label("Why").fill("Saturday clinics start this week")
    manager.get_by_role("button", name="Decide").click()
    expect(manager.get_by_text("No campaign is held.")).to_be_visible()
    page.reload()
    expect(page.locator("h1 .badge")).to_have_text("Scheduled")
    expect(page.get_by_text("Released: send it by Mabel Langford")).to_contain_text(
        "Saturday clinics start this week"
    )
    expect(page.get_by_role("cell", name="Hold released by a manager")).to_be_visible()
