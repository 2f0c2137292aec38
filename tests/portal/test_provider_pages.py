"""Provider pages for referring clinicians (no login): criteria, records, how to refer, the urgent
pathway and the measured turnaround beside the text compliance approved; the service sheet and
referral packet as PDFs from the same data; honest access when waits exceed the target."""

import datetime as dt
import io

import pytest
from django.core.cache import cache
from django.urls import reverse
from django.utils import timezone
from pypdf import PdfReader

from refloop.content.enums import ContentKind, ContentState
from refloop.content.models import ContentVersion
from refloop.content.services import content_create, content_transition
from refloop.core.roles import Role
from refloop.directory.enums import DocumentKind
from tests import factories
from tests.analytics.stored_facts import facts_stored
from tests.web.helpers import sign_in

APPROVED = (
    "Our knee clinic sees adults with joint pain. Referrals are read by an orthopedic surgeon."
)


@pytest.fixture(autouse=True)
def _fresh_figures():
    cache.clear()  # the turnaround is cached for a few minutes; each test starts cold
    yield
    cache.clear()


@pytest.fixture
def ortho(db):
    line = factories.service_line(checklist=(DocumentKind.NOTES, DocumentKind.IMAGING))
    line.acceptance_criteria = "Adults with knee or hip pain after six weeks of therapy."
    line.exclusions = "Acute fractures: send to the emergency department."
    line.fax = "555-010-3311"
    line.phone = "555-010-3300"
    line.secure_email = "ortho@direct.example.org"
    line.save()
    return line


def approved(line, body=APPROVED, *, kind=ContentKind.PROVIDER_PAGE):
    """A text written by a liaison and approved by a compliance reviewer, through the workflow."""
    author, reviewer = factories.person(Role.LIAISON), factories.person(Role.COMPLIANCE)
    version = content_create(
        kind=kind, title=f"{line.name} {kind}", service_line=line, body=body, user=author
    )
    content_transition(version=version, to=ContentState.IN_REVIEW, user=author)
    content_transition(
        version=version,
        to=ContentState.APPROVED,
        user=reviewer,
        expires_on=timezone.localdate() + dt.timedelta(days=180),
    )
    return version


def page_of(client, line) -> str:
    response = client.get(reverse("refer_line", args=[line.code]))
    assert response.status_code == 200
    return response.content.decode()


def pdf_text(client, name, line) -> tuple[int, str]:
    response = client.get(reverse(name, args=[line.code]))
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    reader = PdfReader(io.BytesIO(response.content))
    return len(reader.pages), " ".join(p.extract_text() for p in reader.pages)


def test_it_shows_whom_we_see_what_to_send_how_to_refer_and_the_measured_turnaround(client, ortho):
    facts_stored(ortho, 20, days=12.0)  # acknowledged after 3 business hours
    page = page_of(client, ortho)
    assert "Adults with knee or hip pain" in page and "Acute fractures" in page
    assert "Clinical notes (required)" in page and "Imaging (required)" in page
    assert reverse("refer_new", args=[ortho.code]) in page
    assert "555-010-3311" in page and "555-010-3300" in page and "ortho@direct.example.org" in page
    assert "Urgent referrals" in page and "within 4 business hours" in page  # urgent targets
    assert "3.0 business hours" in page and "12 days" in page and "20 referrals" in page
    assert "30 days" in page  # the routine target
    assert reverse("refer_sheet", args=[ortho.code]) in page
    assert reverse("refer_packet", args=[ortho.code]) in page


def test_it_says_not_enough_data_below_twenty_referrals(client, ortho):
    facts_stored(ortho, 19, days=12.0)
    page = page_of(client, ortho)
    assert page.count("Not enough data") == 2 and "19 referrals" in page
    assert "12 days" not in page and "3.0 business hours" not in page


def test_it_shows_no_text_but_the_facts_without_an_approved_version(client, ortho, liaison):
    other = factories.service_line(code="cardiology", name="Cardiology")
    approved(other, "Cardiology's approved words.")
    content_create(
        kind=ContentKind.PROVIDER_PAGE, title="Draft", service_line=ortho, body="Draft words.",
        user=liaison,
    )  # fmt: skip
    lapsed = approved(ortho, "Expired words.")
    ContentVersion.objects.filter(pk=lapsed.pk).update(
        expires_on=timezone.localdate() - dt.timedelta(days=1)
    )
    approved(ortho, "Brochure words.", kind=ContentKind.BROCHURE)
    page = page_of(client, ortho)
    assert "words." not in page and "data-content-version" not in page
    assert "Adults with knee or hip pain" in page and "Clinical notes (required)" in page
    assert "Urgent referrals" in page and "Send a referral online" in page


def test_it_lets_the_approved_text_say_what_it_holds_and_keeps_the_rest(client, ortho):
    facts_stored(ortho, 20, days=12.0)
    approved(ortho, "# Knee clinic\n\n## Whom we see\n\n- Adults with **knee** pain")
    page = page_of(client, ortho)
    assert (
        "<h3>Knee clinic</h3>" in page and "<li>Adults with <strong>knee</strong> pain</li>" in page
    )
    # A provider page's text holds whom we see, what to send and the urgent pathway ...
    assert "Adults with knee or hip pain" not in page and "Clinical notes (required)" not in page
    assert "Urgent referrals" not in page
    # ... never the facts that change: how to refer and the measured turnaround.
    assert "Send a referral online" in page and "555-010-3311" in page
    assert "12 days" in page and "20 referrals" in page


def test_it_keeps_the_approved_text_when_the_measured_figures_change(client, ortho):
    version = approved(ortho)
    facts_stored(ortho, 20, days=12.0)
    before = page_of(client, ortho)
    assert APPROVED in before and f'data-content-version="{version.pk}"' in before
    assert "12 days" in before and "20 referrals" in before

    facts_stored(ortho, 21, days=40.0)  # more referrals, a longer wait
    cache.clear()  # as five minutes later
    after = page_of(client, ortho)
    assert "40 days" in after and "41 referrals" in after and "12 days" not in after
    assert APPROVED in after and f'data-content-version="{version.pk}"' in after
    version.refresh_from_db()
    assert version.state == ContentState.APPROVED  # nothing to approve again
    assert ContentVersion.objects.count() == 1


def test_it_says_plainly_when_waits_are_longer_than_the_target(client, ortho):
    facts_stored(ortho, 20, days=30.0)  # at the 30-day target: no notice
    assert "longer than our target" not in page_of(client, ortho)

    facts_stored(ortho, 21, days=45.0)
    cache.clear()
    page = page_of(client, ortho)
    assert (
        "Waits are currently longer than our target. Over the last 90 days, routine patients "
        "waited a median of 45 days from referral to appointment (41 referrals); our target is "
        "30 days."
    ) in page


def test_it_prints_one_decimal_when_the_rounded_wait_would_read_as_the_target(client, ortho):
    facts_stored(ortho, 20, days=30.2)
    page = page_of(client, ortho)
    assert "median of 30.2 days" in page and "our target is 30 days" in page


def test_it_prints_a_one_page_service_sheet_with_the_figures(client, ortho):
    long = "A long approved paragraph. " * 150
    approved(
        ortho, f"# Knee clinic\n\nOur knee clinic sees adults.\n\n{long}", kind="service_sheet"
    )
    facts_stored(ortho, 20, days=45.0)
    pages, text = pdf_text(client, "refer_sheet", ortho)
    assert pages == 1
    flat = " ".join(text.split())
    assert "45 days" in flat and "20 referrals" in flat and "3.0 business hours" in flat
    assert "Waits are currently longer than our target" in flat
    assert "Knee clinic" in flat and "Our knee clinic sees adults" in flat and "# " not in flat
    # A service sheet's text holds whom we see; the sheet adds the records and urgent pathway.
    assert "Adults with knee or hip pain" not in flat and "Clinical notes (required)" in flat
    assert "Urgent referrals" in flat
    assert f"/refer/{ortho.code}/new/" in flat and "555-010-3311" in flat


def test_it_prints_the_facts_alone_on_a_sheet_without_approved_text(client, ortho):
    _, text = pdf_text(client, "refer_sheet", ortho)
    flat = " ".join(text.split())
    assert "Adults with knee or hip pain" in flat and "Clinical notes (required)" in flat
    assert "Not enough data" in flat and "0 referrals" in flat


def test_it_prints_a_referral_packet_with_a_fax_cover_sheet(client, ortho):
    approved(ortho, "Words the packet leaves out.")  # the packet is facts only
    facts_stored(ortho, 5, days=12.0)
    pages, text = pdf_text(client, "refer_packet", ortho)
    flat = " ".join(text.split())
    assert pages >= 3
    assert "Referral packet: Orthopedics" in flat and "Not enough data" in flat
    assert "5 referrals" in flat and "Acute fractures" in flat and "Imaging (required)" in flat
    assert "Fax cover sheet: referral to Orthopedics" in flat and "Referring clinician" in flat
    assert "Number of pages" in flat and "Urgent" in flat
    assert "Words the packet leaves out" not in flat


def test_it_prefers_an_approved_service_sheet_text_in_the_pdfs(client, ortho):
    approved(ortho, "Words for the web page.")
    approved(ortho, "Words for the printed sheet.", kind=ContentKind.SERVICE_SHEET)
    assert "Words for the web page." in page_of(client, ortho)
    _, text = pdf_text(client, "refer_sheet", ortho)
    assert "Words for the printed sheet." in text and "web page" not in text


def test_it_lists_every_line_with_its_figures_in_a_few_queries(
    client, ortho, django_assert_max_num_queries
):
    for n in range(3):
        factories.service_line(code=f"line-{n}", name=f"Line {n}")
    facts_stored(ortho, 20, days=45.0)
    with django_assert_max_num_queries(4):  # lines, targets, facts; then the cache
        index = client.get(reverse("refer")).content.decode()
    assert "Orthopedics" in index and "Line 2" in index
    assert "45 days" in index and "Longer than our target at present" in index
    with django_assert_max_num_queries(2):
        client.get(reverse("refer"))


def test_it_shows_no_patient_anywhere(client, ortho):
    facts_stored(ortho, 20, days=12.0)
    names = [r.patient.last_name for r in ortho.referrals.select_related("patient")]
    assert names
    everything = page_of(client, ortho) + client.get(reverse("refer")).content.decode()
    everything += pdf_text(client, "refer_sheet", ortho)[1]
    everything += pdf_text(client, "refer_packet", ortho)[1]
    assert not any(name in everything for name in names)


def test_it_answers_404_for_an_unknown_or_closed_line(client, ortho):
    ortho.active = False
    ortho.save()
    for name in ("refer_line", "refer_sheet", "refer_packet"):
        assert client.get(reverse(name, args=[ortho.code])).status_code == 404


# The staff list of provider pages -------------------------------------------------------------


def test_it_lists_the_provider_pages_for_a_liaison_without_any_patient(
    client, ortho, liaison, django_assert_max_num_queries
):
    other = factories.service_line(code="cardiology", name="Cardiology")
    version = approved(ortho)
    facts_stored(ortho, 20, days=45.0)
    facts_stored(other, 3, days=5.0)
    for n in range(4):  # more lines, each with approved text: no more queries
        approved(factories.service_line(code=f"line-{n}", name=f"Line {n}"))
    sign_in(client, liaison)
    client.get(reverse("provider_pages"))  # the turnaround into the cache, once
    # Session, user, groups, device, permissions (2), nav (2), session save (3); the list: 2.
    with django_assert_max_num_queries(13):
        page = client.get(reverse("provider_pages")).content.decode()
    assert reverse("refer_line", args=[ortho.code]) in page
    assert "45 days" in page and "Over target: page says so, campaigns held" in page
    assert f"{version.item.title}, version {version.number}" in page
    assert "Not judged (not enough data or no target)" in page  # Cardiology's 3 referrals
    assert "None: the page shows the facts only" in page
    names = [r.patient.last_name for r in ortho.referrals.select_related("patient")]
    assert names and not any(name in page for name in names)


def test_it_keeps_the_staff_list_from_people_without_the_aggregates(client, ortho, intake):
    assert client.get(reverse("provider_pages")).status_code == 302  # to sign in
    sign_in(client, intake)
    assert client.get(reverse("provider_pages")).status_code == 403


def test_it_prints_the_approved_text_as_text_never_as_markup(client, ortho):
    approved(ortho, 'Call us <script>alert("x")</script> any time.')
    page = page_of(client, ortho)
    assert "<script>alert" not in page and "&lt;script&gt;alert" in page


def test_it_reads_a_provider_page_in_a_few_queries(client, ortho, django_assert_max_num_queries):
    approved(ortho)
    facts_stored(ortho, 20, days=12.0)
    page_of(client, ortho)  # the turnaround into the cache
    # line, checklist, content item, its usable version, urgent targets
    with django_assert_max_num_queries(5):
        page_of(client, ortho)
