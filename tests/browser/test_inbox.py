"""The document inbox in a real browser: an intake coordinator opens a multi-patient fax, splits
it by page ranges, and files the first patient's pages as a new referral through the intake form
shown beside the pages."""

import pytest
from playwright.sync_api import expect

from refloop.inbox.demo import fax_pdf
from refloop.inbox.models import InboxDocument, InboxStatus
from refloop.inbox.services import Arrival, inbox_document_receive
from refloop.referrals.models import Referral
from tests.browser.test_access_and_loop import sign_in

pytestmark = pytest.mark.browser


def test_it_splits_a_fax_and_files_a_part_to_a_new_referral(browser_page, intake, line, clinician):
    document, _ = inbox_document_receive(
        arrival=Arrival(
            source="fax",
            provider="phaxio",
            provider_id="browser-1",
            filename="fax.pdf",
            content=fax_pdf(),
            sender="+15550104477",
        )
    )
    page = browser_page()
    sign_in(page, intake)
    page.goto("/inbox/")
    page.get_by_role("link", name=f"Fax {document.pk}", exact=True).click()
    expect(page.locator("iframe[title='Pages of the document']")).to_be_visible()

    page.get_by_label("Page ranges, one per part").fill("1-2, 3")
    page.get_by_role("button", name="Split", exact=True).click()
    expect(page.get_by_text("Split into 2 parts.")).to_be_visible()
    rows = page.locator("#inbox-parts tbody tr")
    expect(rows).to_have_count(2)

    rows.first.get_by_role("link", name="New referral").click()
    expect(page.locator("iframe[title='Pages of this part']")).to_be_visible()
    page.get_by_label("First name").fill("Morgan")
    page.get_by_label("Last name").fill("Fieldstone")
    page.get_by_label("Date of birth").fill("1961-04-12")
    page.get_by_label("Referring clinician").select_option(str(clinician.pk))
    page.get_by_label("Service line").select_option(str(line.pk))
    page.get_by_label("Reason").fill("Right knee osteoarthritis, failed physiotherapy")
    page.get_by_role("button", name="Receive referral").click()

    referral = Referral.objects.get()
    expect(page).to_have_url(f"{page.url.split('/referrals/')[0]}/referrals/{referral.pk}/")
    expect(page.get_by_text(f"Referral {referral.number} received.")).to_be_visible()
    assert referral.channel == "fax" and referral.documents.count() == 1

    page.goto(f"/inbox/{document.pk}/")
    expect(page.locator("#inbox-parts").get_by_role("link", name=referral.number)).to_be_visible()
    assert InboxDocument.objects.get().status == InboxStatus.PARTLY_FILED
