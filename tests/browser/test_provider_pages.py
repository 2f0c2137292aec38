"""A referring clinician in a real browser: from the list of services to a provider page that
shows the approved text, the measured turnaround with the referrals behind it, the plain notice
that waits are longer than the target, and the service sheet as a PDF."""

import datetime as dt
import io

import pytest
from django.core.cache import cache
from django.utils import timezone
from playwright.sync_api import expect
from pypdf import PdfReader

from refloop.content.enums import ContentKind, ContentState
from refloop.content.services import content_create, content_transition
from refloop.core.roles import Role
from tests import factories
from tests.analytics.stored_facts import facts_stored

pytestmark = pytest.mark.browser

SHOT = "/tmp/provider-page.png"


@pytest.fixture
def cardiology(transactional_db):
    line = factories.service_line(code="cardiology", name="Cardiology")
    line.acceptance_criteria = "Adults with palpitations or an abnormal ECG."
    line.fax = "555-010-3131"
    line.save()
    author, reviewer = factories.person(Role.LIAISON), factories.person(Role.COMPLIANCE)
    version = content_create(
        kind=ContentKind.PROVIDER_PAGE,
        title="Cardiology page",
        service_line=line,
        body="## Whom we see\n\nOur cardiologists read every referral the day it arrives.",
        user=author,
    )
    content_transition(version=version, to=ContentState.IN_REVIEW, user=author)
    content_transition(
        version=version,
        to=ContentState.APPROVED,
        user=reviewer,
        expires_on=timezone.localdate() + dt.timedelta(days=180),
    )
    facts_stored(line, 24, days=41.0)  # over the 30-day routine target
    cache.clear()
    yield line
    cache.clear()


def test_it_shows_a_clinician_the_turnaround_beside_the_approved_text(browser_page, cardiology):
    page = browser_page()
    page.goto("/refer/")
    row = page.get_by_role("row").filter(has_text="Cardiology")
    expect(row).to_contain_text("41 days")
    expect(row).to_contain_text("Longer than our target at present")
    row.get_by_role("link", name="Cardiology").click()

    expect(page.get_by_role("heading", name="How to refer to Cardiology")).to_be_visible()
    expect(page.locator("#access-notice")).to_have_text(
        "Waits are currently longer than our target. Over the last 90 days, routine patients "
        "waited a median of 41 days from referral to appointment (24 referrals); our target is "
        "30 days."
    )
    expect(page.locator("section.approved")).to_contain_text("read every referral the day")
    figures = page.locator("table.figures")
    expect(
        figures.get_by_role("row").filter(has_text="Referral to appointment (median)")
    ).to_contain_text("24 referrals")
    expect(figures).to_contain_text("3.0 business hours")
    expect(page.get_by_role("link", name="Send a referral online")).to_be_visible()
    page.screenshot(path=SHOT, full_page=True)

    sheet = page.get_by_role("link", name="Service sheet (PDF, one page)").get_attribute("href")
    response = page.request.get(sheet)
    assert response.ok and response.headers["content-type"] == "application/pdf"
    reader = PdfReader(io.BytesIO(response.body()))
    assert len(reader.pages) == 1 and "41 days" in reader.pages[0].extract_text()
