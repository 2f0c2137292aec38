"""A liaison's week on a phone: the page fits a narrow screen (nothing to scroll sideways), shows
the fading referrer's task with its monthly figures, and logs a visit from the quick form."""

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from refloop.core.roles import Role
from refloop.outreach.jobs import drop_off_tasks
from refloop.outreach.models import Activity
from refloop.relations.models import PracticeAssignment, Territory
from tests import factories
from tests.outreach.helpers import standing

pytestmark = pytest.mark.browser

PHONE = {"width": 390, "height": 844}
PASSWORD = "pw-for-tests-1"
SHOT = "/tmp/outreach-week-phone.png"


@pytest.fixture
def week(transactional_db):
    liaison = factories.person(Role.LIAISON, username="leon")
    territory = Territory.objects.create(name="North", liaison=liaison)
    clinicians = [factories.referrer() for _ in range(3)]
    for clinician in clinicians:
        PracticeAssignment.objects.create(
            organization=clinician.organizations.first(), territory=territory
        )
    standing(clinician=clinicians[0], liaison=liaison, recent=0, expected=6.2)
    drop_off_tasks(timezone.now())
    return clinicians


def test_it_fits_a_phone_and_logs_a_visit(browser_page, week):
    page = browser_page()
    page.set_viewport_size(PHONE)
    page.goto("/login/")
    page.get_by_label("Username").fill("leon")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in", exact=True).click()
    page.get_by_role("link", name="Outreach").click()

    expect(page.get_by_role("heading", level=1)).to_contain_text("My week")
    task = page.locator("li", has_text="Referring less")
    expect(task).to_contain_text("0 referrals lately where about 6.2 were expected")
    expect(task.get_by_role("img")).to_have_attribute(
        "aria-label", "Referrals a month: Sep 5, Oct 1, Nov 0"
    )
    overflow = page.evaluate(
        "document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    assert overflow <= 0, f"the page scrolls sideways by {overflow}px on a phone"
    # One column: the quick form sits below the tasks, as wide as the screen allows.
    form = page.locator("section.quick-log")
    box = form.bounding_box()
    assert box["width"] > PHONE["width"] - 60
    page.screenshot(path=SHOT, full_page=True)

    dana = week[0]
    form.get_by_label("Practice").select_option(str(dana.organizations.first().pk))
    form.get_by_label("Clinicians met").select_option([str(dana.pk)])
    form.get_by_label("Topics").fill("Knee pathway")
    form.get_by_role("button", name="Log visit").click()

    expect(page.locator(".messages")).to_contain_text("Logged: Visit:")
    done = page.locator("section", has=page.get_by_role("heading", name="Done"))
    expect(done).to_contain_text(str(dana))
    assert Activity.objects.get().status == "done"
