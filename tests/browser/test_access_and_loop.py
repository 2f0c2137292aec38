"""Issue 3's pages in a real browser: a scheduler books a free slot of the calendar, the patient
confirms the visit from a link on a phone, the care team writes and sends the consult report,
and a person's alerts are counted in the top bar, listed and marked read.

The data is made the way the access and loop tests make it (personas and factories), so each test
sets up only what its page needs.
"""

import datetime as dt
import re
from urllib.parse import urlsplit

import pytest
from django.conf import settings
from django.utils import timezone
from playwright.sync_api import Page, expect

from refloop.access.models import PatientLink
from refloop.access.services import patient_link_make
from refloop.alerts.services import AlertSpec, alerts_raise
from refloop.directory.enums import UpdateChannel
from refloop.messaging.enums import Purpose
from refloop.messaging.models import OutboundMessage
from tests import factories
from tests.access.conftest import accepted, local_day_at
from tests.browser.test_journey import act, expect_state, region
from tests.loop.conftest import to_completed
from tests.web.helpers import PASSWORD

pytestmark = pytest.mark.browser

PHONE = {"width": 390, "height": 844}


def sign_in(page: Page, user) -> None:
    page.goto("/login/")
    page.get_by_label("Username").fill(user.username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in", exact=True).click()
    expect(page.get_by_role("button", name="Sign out", exact=True)).to_be_visible()


def stamp(moment: dt.datetime) -> str:
    """A time as the staff pages print it (Y-m-d H:i, the practice's zone)."""
    return f"{timezone.localtime(moment):%Y-%m-%d %H:%M}"


def test_it_books_a_free_slot_and_shows_it_on_the_calendar(
    browser_page, line, intake, triage, scheduler
):
    doctor = factories.own_clinician()
    times = [local_day_at(2, 9), local_day_at(3, 11), local_day_at(4, 14)]
    for starts_at in times:
        factories.open_slot(line=line, starts_at=starts_at, clinician=doctor)
    referral = accepted(line, intake=intake, triage=triage, last_name="Quill")
    chosen = times[1]

    page = browser_page()
    sign_in(page, scheduler)
    page.goto(f"/referrals/{referral.pk}/")
    expect_state(page, "Accepted")

    def pick(form):
        free = form.get_by_role("group", name="Free slots").get_by_role("radio")
        expect(free).to_have_count(3)
        form.get_by_role(
            "radio", name=f"11:00 · {doctor.last_name} · New consult · Building B, 2nd floor"
        ).check()

    act(page, "Book appointment", pick)
    expect(page.get_by_text("Appointment booked.")).to_be_visible()
    expect_state(page, "Scheduled")
    appointment = region(page, "Referral").locator("dt", has_text="Appointment").locator("+ dd")
    expect(appointment).to_have_text(stamp(chosen))
    expect(region(page, "Appointments and report")).to_contain_text(f"{stamp(chosen)} with")
    expect(region(page, "Appointments and report")).to_contain_text("Booked")

    page.goto(f"/calendar/?line={line.pk}")
    expect(page.get_by_role("heading", name=f"Calendar: {line.name}", level=1)).to_be_visible()
    slots = region(page, "Next 14 days").locator(".slot")
    expect(slots).to_have_count(3)
    expect(slots.nth(1)).to_contain_text("11:00")
    expect(slots.nth(1).get_by_role("link", name=referral.number, exact=True)).to_be_visible()
    expect(slots.nth(0)).to_contain_text("free")
    expect(slots.nth(2)).to_contain_text("free")
    body = page.locator("body").inner_text()
    assert "Quill" not in body and "Alex" not in body


def test_it_lets_the_patient_confirm_the_visit_from_a_link_on_a_phone(browser_page, line, intake):
    referral = factories.referral(line=line, actor=intake, last_name="Quill")
    starts_at = local_day_at(5, 9, 30)
    appointment = factories.booked(
        referral, slot=factories.open_slot(line=line, starts_at=starts_at)
    )
    url = patient_link_make(
        appointment_id=appointment.pk,
        purpose=PatientLink.Purpose.CONFIRM,
        expires_at=timezone.now() + dt.timedelta(days=3),
    )
    path = urlsplit(url).path
    when = f"{timezone.localtime(starts_at):%A, %B %-d, %Y at %-I:%M %p}"

    page = browser_page()
    page.set_viewport_size(PHONE)
    page.goto(path)
    expect(page.get_by_role("heading", name=settings.REFLOOP_PRACTICE_NAME)).to_be_visible()
    expect(page.get_by_text(when)).to_be_visible()
    body = page.locator("body").inner_text()
    assert "Quill" not in body and "Alex" not in body and line.name not in body
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")

    page.get_by_role("button", name="Confirm my visit").click()
    expect(page.get_by_text("Thank you: your visit is confirmed.")).to_be_visible()

    page.goto(path)
    expect(page.get_by_text("This link has already been used.")).to_be_visible()
    expect(page.get_by_role("button")).to_have_count(0)


def test_it_writes_the_report_sends_it_and_shows_its_delivery(
    browser_page, line, intake, manager, care_team
):
    referrer = factories.referrer()
    referrer.fax, referrer.preferred_update_channel = "555-010-7000", UpdateChannel.FAX
    referrer.save()
    referral = to_completed(
        factories.referral(line=line, clinician=referrer, actor=intake), manager
    )

    page = browser_page()
    sign_in(page, care_team)
    page.goto(f"/referrals/{referral.pk}/")
    expect_state(page, "Completed")
    region(page, "Referrer loop").get_by_role("link", name="Write the report").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Consult report")
    page.get_by_label("Findings").fill("Mild effusion of the right knee.")
    page.get_by_label("Next steps").fill("Physiotherapy for six weeks.")
    page.get_by_role("button", name="Save draft").click()

    expect(page.get_by_text("Report draft saved.")).to_be_visible()
    loop = region(page, "Referrer loop")
    expect(loop).to_contain_text("Mild effusion of the right knee.")
    expect(loop.get_by_role("link", name="Edit the report")).to_be_visible()
    act(page, "Send the report")

    expect(page.get_by_text("Report sent to the referrer; the referral is closed.")).to_be_visible()
    expect_state(page, "Closed")
    expect(loop).to_contain_text("Final")
    expect(loop).to_contain_text("Report sent")
    expect(loop).to_contain_text("delivery: not confirmed")
    expect(loop).to_contain_text("acknowledged: not yet")
    expect(loop.get_by_role("link", name="Edit the report")).to_have_count(0)

    # The referrer's office presses the button of the link the fax carried: no login.
    fax = OutboundMessage.objects.get(referral_id=referral.pk, purpose=Purpose.REPORT)
    office = browser_page()
    office.goto(re.search(r"/r/ack/[^/\s]+/", fax.body).group(0))
    office.get_by_role("button", name="Confirm receipt").click()
    expect(office.get_by_role("heading", name="Thank you")).to_be_visible()

    page.reload()
    expect(loop).to_contain_text("acknowledged:")
    expect(loop).not_to_contain_text("acknowledged: not yet")


def test_it_counts_unread_alerts_in_the_top_bar_until_marked_read(
    browser_page, line, intake, scheduler
):
    referral = factories.referral(line=line, actor=intake)
    alerts_raise(
        specs=[
            AlertSpec(
                key=f"test:{n}",
                recipient_ids=(scheduler.pk,),
                kind="test",
                referral_id=referral.pk,
                text=f"{referral.number}: {text}",
            )
            for n, text in enumerate(["the patient asked to reschedule.", "no slot this week."])
        ]
    )

    page = browser_page()
    sign_in(page, scheduler)
    nav = page.get_by_role("navigation", name="Main")
    expect(nav.get_by_label("2 unread")).to_have_text("2")

    nav.get_by_role("link", name=re.compile(r"^Alerts")).click()
    expect(page.get_by_role("heading", name="Alerts", level=1)).to_be_visible()
    rows = page.get_by_role("table").get_by_role("row").filter(has_text=referral.number)
    expect(rows).to_have_count(2)
    expect(rows.first).to_contain_text("no slot this week.")

    page.get_by_role("button", name="Mark all 2 read").click()
    expect(page.get_by_text("2 alerts marked read.")).to_be_visible()
    expect(nav.locator(".badge.count")).to_have_count(0)
    expect(page.get_by_role("button", name="Mark read")).to_have_count(0)
    expect(rows.first).to_contain_text("read ")
