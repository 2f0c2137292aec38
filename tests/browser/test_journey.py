"""Issue 2's "done when", in a real browser: every demo role signs in and lands on a page it can
use, and a referral goes from received to closed through the pages, one person at a time.

The data is the demo's own (a small slice of `refloop_demo`), so the pages look like the real
thing: the demo logins, service lines with their checklists and targets, the referrer directory.
"""

import datetime as dt
import re

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from refloop.demo.files import pdf_bytes
from refloop.demo.loader import demo_load
from refloop.demo.logins import DEMO_PASSWORD, demo_totp_code
from refloop.directory.models import Clinician, Patient, ServiceLine
from refloop.loop.models import ReportSent
from refloop.referrals.enums import EventKind, State
from refloop.referrals.models import Referral

pytestmark = pytest.mark.browser

WORKLIST_SHOT = "/tmp/worklist.png"
CLOSED_SHOT = "/tmp/journey-closed.png"

# username -> the first page the role can use (its <h1>), and whether a second factor is asked.
ROLES = {
    "intake": ("Worklist", False),
    "triage": ("Worklist", False),
    "scheduler": ("Worklist", False),
    "careteam": ("Worklist", False),
    "manager": ("Worklist", True),
    "liaison": ("Program overview", False),
    "compliance": ("Program overview", False),
    "admin": ("Worklist", True),
}


@pytest.fixture
def demo(transactional_db):
    """The demo program at a small scale: logins, directory, and 500 referrals (a score of them
    still open, so the worklist has work on it). Loads in about a second."""
    return demo_load(scale=0.02)


def sign_in(page: Page, username: str) -> None:
    page.goto("/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Sign in", exact=True).click()
    if ROLES[username][1]:
        expect(page.get_by_role("heading", name="Two-factor sign-in")).to_be_visible()
        page.get_by_label("Code from your authenticator app").fill(demo_totp_code(username))
        page.get_by_role("button", name="Verify", exact=True).click()


def sign_out(page: Page) -> None:
    page.get_by_role("button", name="Sign out", exact=True).click()
    expect(page).to_have_url(re.compile(r"/login/$"))
    expect(page.get_by_role("heading", name="Sign in", exact=True)).to_be_visible()
    expect(page.get_by_role("button", name="Sign out")).to_have_count(0)


def region(page: Page, name: str):
    """A titled section of the referral page (<section aria-labelledby=...>)."""
    return page.get_by_role("region", name=name, exact=True)


def act(page: Page, label: str, fill=None) -> None:
    """Open an action of the referral page's Actions panel, fill it in, and send it."""
    details = (
        region(page, "Actions")
        .locator("details")
        .filter(has=page.locator("summary", has_text=re.compile(f"^{re.escape(label)}$")))
    )
    details.locator("summary").click()
    if fill:
        fill(details)
    details.get_by_role("button", name=label, exact=True).click()


def expect_state(page: Page, label: str) -> None:
    expect(page.get_by_role("heading", level=1).locator(".badge.state")).to_have_text(label)


def expect_clock(page: Page, target: str, status: str) -> None:
    row = region(page, "Clocks").get_by_role("row").filter(has_text=target)
    expect(row).to_contain_text(status)


def expect_timeline(page: Page, text: str) -> None:
    expect(region(page, "Timeline")).to_contain_text(text)


def local_input(moment: dt.datetime) -> str:
    """A time as a person types it into a datetime-local field: the practice's local time."""
    return timezone.localtime(moment).strftime("%Y-%m-%dT%H:%M")


def test_it_lets_each_demo_role_sign_in_land_on_its_page_and_sign_out(demo, browser_page):
    patient_names = [f"{p.last_name}, {p.first_name}" for p in Patient.objects.all()]
    assert patient_names
    for username, (landing, two_factor) in ROLES.items():
        page = browser_page()
        sign_in(page, username)
        expect(page.get_by_role("heading", name=landing, level=1)).to_be_visible()
        if landing == "Worklist":
            expect(page).to_have_url(re.compile(r"/$"))
            table = page.get_by_role("table")
            expect(table.get_by_role("link", name=re.compile(r"^R-\d{7}$")).first).to_be_visible()
            text = table.inner_text()
            assert any(name in text for name in patient_names), f"{username} sees no patients"
            if username == "intake":
                page.screenshot(path=WORKLIST_SHOT, full_page=True)
        else:
            expect(page).to_have_url(re.compile(r"/program/$"))
            expect(page.get_by_role("link", name="Worklist")).to_have_count(0)
            text = page.locator("body").inner_text()
            shown = [name for name in patient_names if name in text]
            assert not shown, f"{username} sees patient names: {shown[:3]}"
            assert "Patient" not in text
        if two_factor:
            # Verified this session: no invitation to set up a second factor.
            expect(page.get_by_role("link", name="Set up 2FA")).to_have_count(0)
        sign_out(page)
        page.context.close()


def test_it_takes_a_referral_from_received_to_closed_through_the_pages(
    demo, browser_page, tmp_path
):
    notes = tmp_path / "clinical-notes.pdf"
    notes.write_bytes(pdf_bytes("Clinic note", ["Plaque psoriasis, elbows and knees."]))
    photos = tmp_path / "lesion-photos.pdf"
    photos.write_bytes(pdf_bytes("Photographs", ["Two photographs of the plaques."]))
    report = tmp_path / "consult-report.pdf"
    report.write_bytes(pdf_bytes("Consult report", ["Seen in clinic; started phototherapy."]))
    referrer = (
        Clinician.objects.filter(roles__title="Referring clinician")
        .exclude(npi="")
        .order_by("last_name", "first_name")
        .first()
    )
    referrer_label = f"{referrer.last_name}, {referrer.first_name} {referrer.credentials}"

    # Intake types in a faxed referral.
    page = browser_page()
    sign_in(page, "intake")
    page.get_by_role("link", name="New referral", exact=True).click()
    expect(page.get_by_role("heading", name="New referral (fax, phone or e-mail)")).to_be_visible()
    page.get_by_label("First name").fill("Odile")
    page.get_by_label("Last name").fill("Brackenridge")
    page.get_by_label("Date of birth").fill("1961-04-12")
    page.get_by_label("Sex").select_option(label="Female")
    page.get_by_label("Phone:", exact=True).fill("(216) 555-0142")
    page.get_by_label("Payer").fill("Lakeshore Health Plan")
    page.get_by_label("Member id").fill("LHP-2201-77")
    page.get_by_label("Referring clinician").select_option(
        label=f"{referrer_label} · NPI {referrer.npi}"
    )
    page.get_by_label("Service line").select_option(label="Dermatology")
    page.get_by_label("Priority").select_option(label="Urgent")
    page.get_by_label("Channel").select_option(label="Fax")
    page.get_by_label("Diagnoses").fill("L40.0")
    page.get_by_label("Reason").fill("Plaque psoriasis not controlled on topical steroids")
    page.get_by_label("Document 1").set_input_files(notes)
    page.get_by_label("Kind:", exact=True).nth(0).select_option(label="Clinical notes")
    page.get_by_label("Document 2").set_input_files(photos)
    page.get_by_label("Kind:", exact=True).nth(1).select_option(label="Imaging")
    page.get_by_role("button", name="Receive referral", exact=True).click()

    expect(page).to_have_url(re.compile(r"/referrals/\d+/$"))
    referral = Referral.objects.get(patient__last_name="Brackenridge")
    number = referral.number
    expect(page.get_by_role("heading", level=1)).to_contain_text(number)
    expect(page.get_by_text(f"Referral {number} received.")).to_be_visible()
    expect_state(page, "Received")
    expect(region(page, "Patient")).to_contain_text("Brackenridge, Odile")
    expect(region(page, "Referral")).to_contain_text(referrer.npi)
    checklist = region(page, "Checklist")
    expect(checklist).to_contain_text("Clinical notes")
    expect(checklist).to_contain_text("Photos of the lesion")
    expect(checklist.locator(".badge")).to_have_text(["Received", "Received"])
    expect(region(page, "Documents").get_by_role("link", name="Clinical notes")).to_be_visible()
    expect(region(page, "Blockers")).to_contain_text("No open blockers.")
    expect_timeline(page, "Received (Fax)")
    expect_clock(page, "Acknowledge the referrer", "On track")

    act(page, "Acknowledge to referrer")
    expect(page.get_by_text("Acknowledgement recorded.")).to_be_visible()
    expect_timeline(page, "Referrer acknowledged")
    expect_clock(page, "Acknowledge the referrer", "Met")

    act(page, "Send to triage")
    expect(page.get_by_text("Sent to triage.")).to_be_visible()
    expect_state(page, "In triage")
    expect_timeline(page, "State changed: Received → In triage")
    sign_out(page)

    # Triage finds it in the dermatology queue and accepts it.
    page = browser_page()
    sign_in(page, "triage")
    page.get_by_role("list", name="Queues").get_by_role("link", name="Dermatology").click()
    page.get_by_role("list", name="Open referrals by state").get_by_role(
        "link", name=re.compile(r"^In triage")
    ).click()
    page.get_by_role("link", name=number, exact=True).click()
    expect_state(page, "In triage")
    act(page, "Accept")
    expect(page.get_by_text("Accepted.", exact=True)).to_be_visible()
    expect_state(page, "Accepted")
    expect_timeline(page, "State changed: In triage → Accepted")
    expect_clock(page, "Triage decision", "Met")
    sign_out(page)

    # The scheduler records the visit booked in the EHR (this practice's dermatology clinic books
    # there; calendar booking has its own browser test) and, once the patient has been seen, the
    # outcome.
    ServiceLine.objects.filter(code="dermatology").update(uses_calendar=False)
    page = browser_page()
    sign_in(page, "scheduler")
    page.get_by_role("list", name="Queues").get_by_role("link", name="Dermatology").click()
    page.get_by_role("list", name="Open referrals by state").get_by_role(
        "link", name=re.compile(r"^Accepted")
    ).click()
    page.get_by_role("link", name=number, exact=True).click()
    expect_state(page, "Accepted")
    visit = timezone.now() - dt.timedelta(minutes=5)

    def booking(form):
        form.get_by_label("Appointment date and time").fill(local_input(visit))
        form.get_by_label("Clinician").select_option(index=1)
        form.get_by_label("Location").fill("Dermatology clinic, room 4")

    act(page, "Book appointment", booking)
    expect(page.get_by_text("Appointment booked.")).to_be_visible()
    expect_state(page, "Scheduled")
    expect(region(page, "Appointments and report")).to_contain_text("Booked")
    expect_timeline(page, "State changed: Accepted → Scheduled")

    act(
        page,
        "Record appointment outcome",
        lambda form: form.get_by_label("Attended (visit completed)").check(),
    )
    expect(page.get_by_text("Appointment outcome recorded.")).to_be_visible()
    expect_state(page, "Completed")
    expect(region(page, "Appointments and report")).to_contain_text("Attended")
    expect_timeline(page, "State changed: Scheduled → Completed")
    expect_clock(page, "Days to appointment", "Met")
    sign_out(page)

    # The care team finds it by number, attaches the consult report and sends it: loop closed.
    page = browser_page()
    sign_in(page, "careteam")
    page.get_by_role("link", name="Search", exact=True).click()
    page.get_by_label("Referral number").fill(number)
    page.get_by_role("button", name="Search", exact=True).click()
    page.get_by_role("link", name=number, exact=True).click()
    expect_state(page, "Completed")

    def report_form(form):
        form.get_by_label("Consult report (PDF, TIFF, PNG or JPEG)").set_input_files(report)
        form.get_by_label("Sent by").select_option(label="Fax")

    act(page, "Record report sent", report_form)
    expect(page.get_by_text("Report recorded as sent; the referral is closed.")).to_be_visible()
    expect_state(page, "Closed")
    expect(region(page, "Appointments and report")).to_contain_text("Report sent")
    expect(region(page, "Documents").get_by_role("link", name="Consult report")).to_be_visible()
    expect_timeline(page, "State changed: Completed → Closed")
    expect_clock(page, "Report back after the visit", "Met")
    expect(region(page, "Actions").get_by_role("button", name="Record report sent")).to_have_count(
        0
    )
    page.screenshot(path=CLOSED_SHOT, full_page=True)
    sign_out(page)

    referral.refresh_from_db()
    assert referral.state == State.CLOSED
    assert ReportSent.objects.filter(referral=referral, channel=ReportSent.Channel.FAX).exists()
    path = [
        (e.from_state, e.to_state)
        for e in referral.events.filter(kind=EventKind.STATE_CHANGED).order_by("occurred_at", "id")
    ]
    assert path == [
        (State.RECEIVED, State.TRIAGE),
        (State.TRIAGE, State.ACCEPTED),
        (State.ACCEPTED, State.SCHEDULED),
        (State.SCHEDULED, State.COMPLETED),
        (State.COMPLETED, State.CLOSED),
    ]
