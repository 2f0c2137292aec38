"""The referring-office portal in a real browser: someone at a practice sends a referral with a
PDF through the public form and gets a reference; then a person of that office signs in to the
portal and finds the referral with its status."""

import pytest
from playwright.sync_api import expect

from refloop.demo.files import pdf_bytes
from refloop.referrals.models import Referral
from tests import factories
from tests.portal.conftest import OFFICE_PASSWORD, office_person

pytestmark = pytest.mark.browser


def test_it_takes_a_referral_from_the_public_form_and_shows_it_to_the_office(
    browser_page, line, tmp_path
):
    office = office_person(factories.referrer(), "frontdesk@maple-a.example")
    notes = tmp_path / "clinic-notes.pdf"
    notes.write_bytes(pdf_bytes("Clinic notes", ["Knee pain for six months.", "X-ray: OA."]))

    page = browser_page()
    page.goto("/refer/")
    page.get_by_role("link", name="Orthopedics").click()
    expect(page.get_by_role("heading", name="How to refer to Orthopedics")).to_be_visible()
    page.get_by_role("link", name="Send a referral online").click()
    page.get_by_label("First name").fill("Jordan")
    page.get_by_label("Last name").fill("Okafor")
    page.get_by_label("Date of birth").fill("1962-03-14")
    page.get_by_label("Sex").select_option("female")
    page.get_by_label("Phone", exact=True).fill("(555) 010-4821")
    page.get_by_label("Preferred language").select_option("English")
    page.get_by_label("Referring clinician").fill("Dr Dana Referrer")
    page.get_by_label("Clinician's NPI").fill(office.clinician.npi)
    page.get_by_label("Practice", exact=True).fill("Maple Family Practice")
    page.get_by_label("Practice fax").fill("555-010-7000")
    page.get_by_label("Reason for referral").fill("Right knee pain despite physiotherapy.")
    page.get_by_label("Diagnoses (ICD-10-CM)").fill("M17.11")
    page.get_by_label("Priority").select_option("routine")
    page.get_by_label("Clinical notes").set_input_files(str(notes))
    page.get_by_role("button", name="Send referral").click()

    expect(page.get_by_role("heading", name="Thank you: we have the referral")).to_be_visible()
    referral = Referral.objects.get()
    expect(page.locator(".reference")).to_have_text(referral.sender_reference)

    desk = browser_page()
    desk.goto("/office/")
    desk.get_by_label("E-mail address").fill(office.username)
    desk.get_by_label("Password").fill(OFFICE_PASSWORD)
    desk.get_by_role("button", name="Sign in").click()
    expect(desk.get_by_role("heading", name="Referrals from Maple Family Practice")).to_be_visible()
    row = desk.get_by_role("row").filter(has_text=referral.number)
    expect(row).to_contain_text("Okafor, Jordan")
    expect(row).to_contain_text(referral.sender_reference)
    expect(row.locator(".status")).to_have_text("Received")
    row.get_by_role("link", name=referral.number).click()
    expect(desk.get_by_role("heading", name=f"Referral {referral.number}")).to_be_visible()
    expect(desk.get_by_text("Nothing is missing.")).to_be_visible()
