"""What one campaign e-mail says, to one recipient: personal fields, the CAN-SPAM parts, and
the links (unsubscribe, and open and click tracking where allowed).

CAN-SPAM, as Refloop does it:
- Identified as an advertisement by the FIRST LINE of the body ("Advertisement from <practice>"),
  so the subject stays exactly the approved version's subject (an honest subject, word for word).
- Honest From: the sender's name must name the practice (settings.REFLOOP_PRACTICE_NAME) and the
  address is the practice's own mail domain (services check both when scheduling).
- The practice's postal address (settings.REFLOOP_PRACTICE_POSTAL_ADDRESS) in every message.
- An unsubscribe link, and List-Unsubscribe + List-Unsubscribe-Post headers (RFC 8058 one-click)
  pointing at the same page, which honours the request at once.

Personal fields are written `{field}` (the content library uses the same style); a field we do not
know is refused when the campaign is scheduled, naming it, never sent as typed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from email.utils import formataddr

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.urls import reverse
from django.utils.html import escape

FIELDS = {
    "first_name": "The recipient's first name",
    "last_name": "The recipient's last name",
    "name": "The recipient's full name",
    "practice": "The recipient's practice",
}
FIELD = re.compile(r"\{([^{}\s]*)\}")
LINK = re.compile(r"https?://[^\s<>\"')]+")
ADVERTISEMENT = "Advertisement from {practice}."
# Someone on a list with no name on file is greeted this way rather than with a blank.
NO_NAME = "Colleague"


@dataclass(frozen=True)
class Personal:
    first_name: str
    last_name: str
    name: str
    practice: str

    def values(self) -> dict[str, str]:
        return {
            "first_name": self.first_name or NO_NAME,
            "last_name": self.last_name,
            "name": self.name or NO_NAME,
            "practice": self.practice,
        }


def personal_of(*, name: str, clinician=None, practice: str = "") -> Personal:
    """The personal fields of one recipient: a clinician's own names; office staff's name as
    the list has it (first word, the rest)."""
    if clinician is not None:
        first, last = clinician.first_name, clinician.last_name
    else:
        first, _, last = name.partition(" ")
    return Personal(first_name=first, last_name=last, name=name, practice=practice)


def fields_unknown(text: str) -> list[str]:
    """The `{field}`s in `text` that are not personal fields we can fill, in order of use."""
    seen: list[str] = []
    for match in FIELD.finditer(text):
        if match.group(1) not in FIELDS and match.group(1) not in seen:
            seen.append(match.group(1))
    return seen


def personalise(text: str, personal: Personal) -> str:
    values = personal.values()
    return FIELD.sub(lambda m: values.get(m.group(1), m.group(0)), text)


def links_of(body: str) -> list[str]:
    """The links in an approved body, in order: the only places a click may lead."""
    return LINK.findall(body)


def _absolute(path: str) -> str:
    return settings.REFLOOP_BASE_URL.rstrip("/") + path


def unsubscribe_url(token: str) -> str:
    return _absolute(reverse("campaign_unsubscribe", args=[token]))


def tracking_on(campaign) -> bool:
    """Opens and clicks are recorded only when the practice and the campaign both allow it."""
    return bool(settings.REFLOOP_CAMPAIGN_TRACKING and campaign.tracking_allowed)


@dataclass(frozen=True)
class Composed:
    subject: str
    text: str
    html: str
    headers: dict[str, str]
    from_email: str


def campaign_compose(*, campaign, version, token: str, personal: Personal) -> Composed:
    """The message as it goes out (and as the preview shows it)."""
    practice = settings.REFLOOP_PRACTICE_NAME
    body = personalise(version.body, personal)
    unsubscribe = unsubscribe_url(token)
    first_line = ADVERTISEMENT.format(practice=practice)
    footer = [
        f"{practice}, {settings.REFLOOP_PRACTICE_POSTAL_ADDRESS}",
        "You receive this as a referring clinician or a member of a referring office.",
        f"Unsubscribe (at once, for good): {unsubscribe}",
    ]
    text = "\n\n".join([first_line, body, "-- ", "\n".join(footer)])
    html = _html(campaign, body, token, first_line, footer, unsubscribe)
    headers = {
        "Message-ID": f"<refloop-campaign-{token}@{settings.REFLOOP_MAIL_DOMAIN}>",
        "List-Unsubscribe": f"<{unsubscribe}>",
        "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
    }
    return Composed(
        subject=personalise(version.subject, personal),
        text=text,
        html=html,
        headers=headers,
        from_email=formataddr((campaign.sender_name, campaign.sender_address)),
    )


def _html(campaign, body, token, first_line, footer, unsubscribe) -> str:
    tracked = tracking_on(campaign)
    links = {}
    if tracked:
        # Each approved link by its position: the click page redirects only to these.
        for index, url in enumerate(links_of(campaign.content_version.body)):
            links.setdefault(url, _absolute(reverse("campaign_click", args=[token, index])))

    def link(match):
        url = match.group(0)
        return f'<a href="{escape(links.get(url, url))}">{escape(url)}</a>'

    paragraphs = []
    for paragraph in body.split("\n\n"):
        parts, last = [], 0
        for match in LINK.finditer(paragraph):
            parts += [escape(paragraph[last : match.start()]), link(match)]
            last = match.end()
        parts.append(escape(paragraph[last:]))
        paragraphs.append("<p>" + "".join(parts).replace("\n", "<br>") + "</p>")
    pixel = ""
    if tracked:
        src = _absolute(reverse("campaign_open", args=[token]))
        pixel = f'<img src="{escape(src)}" width="1" height="1" alt="">'
    lines = "<br>".join(escape(line) for line in footer[:2])
    return (
        f"<p><strong>{escape(first_line)}</strong></p>{''.join(paragraphs)}"
        f'<hr><p style="font-size:small">{lines}<br>'
        f'<a href="{escape(unsubscribe)}">Unsubscribe</a> (at once, for good)</p>{pixel}'
    )


def campaign_email(*, composed: Composed, to: str, connection=None) -> EmailMultiAlternatives:
    message = EmailMultiAlternatives(
        subject=composed.subject,
        body=composed.text,
        from_email=composed.from_email,
        to=[to],
        headers=composed.headers,
        connection=connection,
    )
    message.attach_alternative(composed.html, "text/html")
    return message
