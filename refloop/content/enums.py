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
