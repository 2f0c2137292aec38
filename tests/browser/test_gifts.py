"""Issue 6's gift ledger in a real browser: a liaison previews how a lunch-and-learn splits among
four physicians and two office staff, sees that one physician would pass the year's limit, plans
it all the same; compliance finds it in the queue and cannot approve it."""

import datetime as dt
from decimal import Decimal

import pytest
from playwright.sync_api import expect

from refloop.core.roles import Role
from refloop.demo.logins import demo_logins_ensure
from refloop.directory.models import Clinician
from refloop.gifts.enums import GiftState, LimitKind
from refloop.gifts.models import GiftItem, GiftLimit
from refloop.gifts.services import gift_record
from tests.browser.test_journey import sign_in, sign_out

pytestmark = pytest.mark.browser

GIFTS_SHOT = "/tmp/gifts-preview.png"


@pytest.fixture
def ledger(transactional_db):
    users = demo_logins_ensure()
    # The 2026 figure (a flush between transactional tests empties the seeded rows).
    GiftLimit.objects.get_or_create(
        year=2026,
        kind=LimitKind.NON_MONETARY_ANNUAL,
        defaults={"amount": Decimal("535"), "source": "issue 6"},
    )
    doctors = [
        Clinician.objects.create(first_name="Pat", last_name=name, credentials="MD")
        for name in ("Avery", "Brook", "Chen", "Diaz")
    ]
    gift_record(
        kind="gift",
        description="Anatomy textbook",
        on=dt.date(2026, 3, 1),
        total="510.00",
        user=users[Role.LIAISON],
        clinician_ids=[doctors[0].pk],
    )
    return doctors


def test_a_liaison_previews_a_split_and_compliance_cannot_approve_it(browser_page, ledger):
    page = browser_page()
    sign_in(page, "liaison")
    page.get_by_role("link", name="Gifts", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Gifts and non-monetary")
    page.get_by_role("link", name="Plan or record").click()
    page.get_by_label("Description").fill("Lunch-and-learn: knee referrals")
    page.get_by_label("Date").fill("2026-03-10")
    page.get_by_label("Total cost ($)").fill("187.50")
    page.get_by_label("Clinicians present").select_option([str(d.pk) for d in ledger])
    page.get_by_label("Other people present").fill("Office manager\nReferral coordinator")
    page.get_by_role("button", name="Preview the split").click()

    preview = page.get_by_role("region", name="Split preview")
    expect(preview.locator("tbody tr")).to_have_count(6)
    avery = preview.locator("tr", has_text="Pat Avery")
    expect(avery).to_contain_text("$31.25")
    expect(avery).to_contain_text("$541.25")
    expect(avery).to_contain_text("over the limit")
    expect(preview.locator("tr", has_text="Office manager")).to_contain_text("no limit")
    page.screenshot(path=GIFTS_SHOT, full_page=True)
    assert not GiftItem.objects.filter(state=GiftState.PLANNED).exists()  # a preview writes nothing

    page.get_by_role("button", name="Plan it").click()
    expect(page.get_by_text("waits for compliance's approval")).to_be_visible()
    sign_out(page)

    sign_in(page, "compliance")
    page.goto("/gifts/approvals/")
    card = page.locator("section.card", has_text="Lunch-and-learn: knee referrals")
    expect(card).to_contain_text("would pass the limit")
    expect(card.get_by_role("button", name="Approve")).to_be_disabled()
    assert GiftItem.objects.get(description__startswith="Lunch").state == GiftState.PLANNED
