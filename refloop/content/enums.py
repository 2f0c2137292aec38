"""The content workflow, declared once: states, their groups and the moves between them."""

from django.db import models


class ContentKind(models.TextChoices):
    SERVICE_SHEET = "service_sheet", "Service sheet"
    PROVIDER_PAGE = "provider_page", "Provider page"
    EMAIL = "email", "E-mail"
    BROCHURE = "brochure", "Brochure"
    SLIDE_DECK = "slide_deck", "Slide deck"


class ContentState(models.TextChoices):
    DRAFT = "draft", "Draft"
    IN_REVIEW = "in_review", "In review"
    APPROVED = "approved", "Approved"
    CHANGES_REQUESTED = "changes_requested", "Changes requested"
    RETIRED = "retired", "Retired"


# Named groups: text can be edited only before review or after changes were asked for; a version
# that was approved is never edited again (a change is a new version).
EDITABLE_STATES = (ContentState.DRAFT, ContentState.CHANGES_REQUESTED)

TRANSITIONS: dict[str, frozenset[str]] = {
    ContentState.DRAFT: frozenset({ContentState.IN_REVIEW, ContentState.RETIRED}),
    ContentState.IN_REVIEW: frozenset({ContentState.APPROVED, ContentState.CHANGES_REQUESTED}),
    ContentState.CHANGES_REQUESTED: frozenset({ContentState.IN_REVIEW, ContentState.RETIRED}),
    ContentState.APPROVED: frozenset({ContentState.RETIRED}),
    ContentState.RETIRED: frozenset(),
}

# Who may make each move: authors (do_outreach) hand a draft in and retire what they wrote; only a
# compliance reviewer (review_content) decides. Withdrawing approved content is always safe, so
# either may retire it. Any one permission of the set will do.
TRANSITION_PERMISSIONS: dict[tuple[str, str], frozenset[str]] = {
    (ContentState.DRAFT, ContentState.IN_REVIEW): frozenset({"do_outreach"}),
    (ContentState.CHANGES_REQUESTED, ContentState.IN_REVIEW): frozenset({"do_outreach"}),
    (ContentState.DRAFT, ContentState.RETIRED): frozenset({"do_outreach"}),
    (ContentState.CHANGES_REQUESTED, ContentState.RETIRED): frozenset({"do_outreach"}),
    (ContentState.IN_REVIEW, ContentState.APPROVED): frozenset({"review_content"}),
    (ContentState.IN_REVIEW, ContentState.CHANGES_REQUESTED): frozenset({"review_content"}),
    (ContentState.APPROVED, ContentState.RETIRED): frozenset({"do_outreach", "review_content"}),
}
# A decision the author is told about; a hand-in the reviewers are told about.
DECISION_STATES = (ContentState.APPROVED, ContentState.CHANGES_REQUESTED)
# Versions still being worked on: an item has at most one, and a new version waits for it.
OPEN_STATES = (ContentState.DRAFT, ContentState.IN_REVIEW, ContentState.CHANGES_REQUESTED)


class ClaimCategory(models.TextChoices):
    GUARANTEE = "guarantee", "Guarantee"
    SUPERLATIVE = "superlative", "Unqualified superlative"
    STATISTIC = "statistic", "Statistic without a source"
    REFERRAL_VALUE = "referral_value", "Value for referrals"
    PATIENT_INFORMATION = "patient_information", "Patient information"


# The personalisation fields an e-mail's subject and body may use, written `{first_name}` (a
# literal brace is doubled: `{{`). The campaigns stream fills them per recipient.
PERSONALISATION_FIELDS = {
    "first_name": "The recipient's first name",
    "last_name": "The recipient's last name",
    "name": "The recipient's full name (with credentials for clinicians)",
    "practice_name": "The recipient's practice",
    "liaison_name": "The liaison of the recipient's territory",
    "service_line": "The content's service line",
}
