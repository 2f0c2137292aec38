"""Content review in a real browser: a liaison writes a brochure and sees the claims checker
flag a guarantee as they type, hands it in anyway; a compliance reviewer opens it from the queue,
sees the flagged words marked, and approves it with an expiry date."""

import pytest
from playwright.sync_api import expect

from refloop.content.enums import ContentState
from refloop.content.models import ClaimRule, ContentVersion
from tests.browser.test_access_and_loop import sign_in
from tests.content.conftest import in_days

pytestmark = pytest.mark.browser


def test_it_flags_as_the_author_types_and_the_reviewer_approves(browser_page, liaison, compliance):
    # The live server's database is emptied between tests: the seeded rules may be gone.
    ClaimRule.objects.get_or_create(
        name="Guarantee",
        defaults={
            "category": "guarantee",
            "pattern": r"guarantee(?:s|d|ing)?",
            "explanation": "Outcomes and access cannot be guaranteed.",
        },
    )
    author = browser_page()
    sign_in(author, liaison)
    author.get_by_role("link", name="Content", exact=True).click()
    author.get_by_role("link", name="New content").click()
    author.get_by_label("Kind").select_option("brochure")
    author.get_by_label("Title").fill("Knee care brochure")
    author.get_by_label("Body").fill("Knee care close to home.")
    author.get_by_role("button", name="Save draft").click()
    expect(author.get_by_text("No claim flags.")).to_be_visible()

    author.get_by_label("Body").press_sequentially(" We guarantee a visit.", delay=5)
    expect(author.get_by_text("(as typed, not saved)")).to_be_visible()
    expect(author.locator("#claims-flags mark")).to_have_text("guarantee")
    author.get_by_role("button", name="Save", exact=True).click()
    expect(author.locator("#content-preview mark, .content-preview mark").first).to_have_text(
        "guarantee"
    )
    author.get_by_role("link", name="← Knee care brochure, version 1").click()
    author.get_by_role("button", name="Hand in for review").click()
    expect(author.get_by_text("Version 1: in review.")).to_be_visible()

    reviewer = browser_page()
    sign_in(reviewer, compliance)
    reviewer.goto("/content/review/")
    row = reviewer.locator("#content-review tbody tr", has_text="Knee care brochure v1")
    expect(row).to_contain_text("Guarantee")
    row.get_by_role("link", name="Knee care brochure v1").click()
    expect(reviewer.locator("#content-preview mark")).to_have_text("guarantee")
    reviewer.get_by_label("Comment").fill("Guarantee accepted: it is a visit, not an outcome.")
    reviewer.get_by_role("button", name="Approve").click()
    expect(reviewer.get_by_text("An approval needs an expiry date.")).to_be_visible()
    reviewer.get_by_label("Approved until").fill(in_days(120).isoformat())
    reviewer.get_by_role("button", name="Approve").click()
    expect(reviewer.get_by_text("Version 1: approved.")).to_be_visible()

    version = ContentVersion.objects.get(item__title="Knee care brochure")
    assert (version.state, version.expires_on) == (ContentState.APPROVED, in_days(120))
    author.goto("/content/")
    row = author.locator("#content-library tbody tr", has_text="Knee care brochure")
    expect(row).to_contain_text("Approved")
