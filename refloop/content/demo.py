"""The demo's content (called by demo.marketing after the referrals and their facts are loaded).

Per active service line, approved and unexpired: the provider page text (whom we see and whom we
don't, what to send, the urgent pathway; the measured turnaround is NOT in the text: the provider
page renders it beside the text), a one-page service sheet, and a campaign e-mail with
personalisation fields. Besides them, the review at work: one e-mail waiting in review with a
claim flag, one brochure returned with changes requested, one service sheet whose approval
lapsed. Everything goes through the real services, written by the liaison and decided by the
compliance reviewer, so the review trail is real; only the lapsed approval is moved back in time.
"""

from __future__ import annotations

import datetime as dt
import random

from django.utils import timezone

from refloop.alerts.models import Alert
from refloop.content.enums import ContentKind, ContentState
from refloop.content.models import ContentDecision, ContentItem, ContentVersion
from refloop.content.services import content_create, content_transition
from refloop.core.roles import Role
from refloop.directory.models import ServiceLine

S = ContentState


def provider_page_text(line: ServiceLine) -> str:
    """The approved words of a line's provider page, from the line's own criteria."""
    documents = [item.name for item in line.checklist.all()]
    contact = [
        f"phone {line.phone}" if line.phone else "",
        f"fax {line.fax}" if line.fax else "",
        f"secure e-mail {line.secure_email}" if line.secure_email else "",
    ]
    contact_text = ", ".join(c for c in contact if c) or "the e-referral form"
    parts = [
        f"# {line.name}",
        line.description,
        "## Whom we see",
        line.acceptance_criteria or "Adults referred by their clinician.",
    ]
    if line.exclusions:
        parts += ["## Whom we do not see", line.exclusions]
    parts += [
        "## What to send",
        "\n".join(f"- {name}" for name in documents) or "- Recent clinic notes",
        "Send the referral with the e-referral form; incomplete referrals wait for records.",
        "## Urgent pathway",
        "Mark the referral urgent and call us the same day so the triage clinician can review "
        f"it: {contact_text}. For an emergency, send the patient to the emergency department.",
    ]
    return "\n\n".join(p for p in parts if p)


def service_sheet_text(line: ServiceLine) -> str:
    return "\n\n".join(
        [
            f"# {line.name}: service sheet",
            line.description,
            "## Referral criteria",
            line.acceptance_criteria or "Adults referred by their clinician.",
            "## How to refer",
            "- The e-referral form on our provider page\n- Fax, phone or secure e-mail",
            "Every referral is acknowledged, and the consult report goes back to you.",
        ]
    )


def email_text(line: ServiceLine) -> tuple[str, str]:
    subject = f"{line.name} referrals: what to send, and how to reach us"
    body = (
        "Dear {first_name},\n\n"
        f"Thank you for working with our {line.name.lower()} team. Our provider page lists whom "
        "we see, the records we need and the urgent pathway, with our measured turnaround over "
        "the last 90 days.\n\n"
        "If anything about a referral from {practice_name} is unclear, reply to this e-mail or "
        "ask {liaison_name}, your liaison.\n\n"
        "Kind regards,\n{liaison_name}"
    )
    return subject, body


def _approved(*, kind, title, line, body, subject, author, reviewer, today, days) -> ContentVersion:
    version = content_create(
        kind=kind, title=title, service_line=line, body=body, subject=subject, user=author
    )
    content_transition(version=version, to=S.IN_REVIEW, user=author)
    content_transition(
        version=version,
        to=S.APPROVED,
        user=reviewer,
        comment="Accurate and plain; no claims.",
        expires_on=today + dt.timedelta(days=days),
    )
    return version


def content_demo_load(*, users: dict, now: dt.datetime, rng: random.Random) -> None:
    if ContentItem.objects.exists():
        return  # loaded already
    author, reviewer = users[Role.LIAISON], users[Role.COMPLIANCE]
    today = timezone.localdate()  # approvals are checked against the real date
    lines = list(ServiceLine.objects.filter(active=True).prefetch_related("checklist"))
    first = lines[0] if lines else None
    for line in lines:
        common = {"line": line, "author": author, "reviewer": reviewer, "today": today}
        _approved(
            kind=ContentKind.PROVIDER_PAGE,
            title=f"{line.name}: provider page",
            body=provider_page_text(line),
            subject="",
            days=rng.randint(240, 365),
            **common,
        )
        _approved(
            kind=ContentKind.SERVICE_SHEET,
            title=f"{line.name}: service sheet",
            body=service_sheet_text(line),
            subject="",
            days=rng.randint(180, 365),
            **common,
        )
        subject, body = email_text(line)
        _approved(
            kind=ContentKind.EMAIL,
            title=f"{line.name}: referral update e-mail",
            body=body,
            subject=subject,
            days=rng.randint(90, 200),
            **common,
        )
    _review_at_work(first, author, reviewer, today)
    # The demo's history is not news: only what waits on someone stays unread.
    Alert.objects.filter(kind__in=("content_submitted", "content_approved")).update(read_at=now)
    Alert.objects.filter(kind="content_submitted", text__contains="Open house").update(read_at=None)


def _review_at_work(line, author, reviewer, today) -> None:
    waiting = content_create(
        kind=ContentKind.EMAIL,
        title="Open house invitation",
        service_line=line,
        subject="You're invited: meet our team",
        body=(
            "Dear {first_name},\n\nJoin us for an open house with the best specialists in the "
            "region. Light refreshments; no cost to attend.\n\n{liaison_name}"
        ),
        user=author,
    )
    content_transition(version=waiting, to=S.IN_REVIEW, user=author, comment="For March.")

    returned = content_create(
        kind=ContentKind.BROCHURE,
        title="Why refer to us",
        service_line=line,
        body="92% of referred patients are seen within two weeks. No wait for urgent cases.",
        user=author,
    )
    content_transition(version=returned, to=S.IN_REVIEW, user=author)
    content_transition(
        version=returned,
        to=S.CHANGES_REQUESTED,
        user=reviewer,
        comment=(
            "Remove the 92% figure (no source, and the provider page shows measured turnaround) "
            "and the 'no wait' promise."
        ),
    )

    lapsed = _approved(
        kind=ContentKind.SERVICE_SHEET,
        title="Last year's referral guide",
        line=line,
        body="How to refer in 2025: use the e-referral form and send recent notes.",
        subject="",
        author=author,
        reviewer=reviewer,
        today=today,
        days=30,
    )
    # A year-old approval that ran out last month (approvals cannot be entered in the past).
    approved_at = timezone.now() - dt.timedelta(days=400)
    ContentVersion.objects.filter(pk=lapsed.pk).update(
        expires_on=today - dt.timedelta(days=35), state_changed_at=approved_at
    )
    ContentDecision.objects.filter(version=lapsed).update(at=approved_at)
    ContentDecision.objects.filter(version=lapsed, to_state=S.APPROVED).update(
        expires_on=today - dt.timedelta(days=35)
    )
