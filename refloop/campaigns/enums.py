"""The campaign workflow, declared once: states, their groups and the moves between them."""

from django.db import models


class CampaignState(models.TextChoices):
    DRAFT = "draft", "Draft"
    SCHEDULED = "scheduled", "Scheduled"
    HELD = "held", "Held (access)"
    SENDING = "sending", "Sending"
    SENT = "sent", "Sent"
    CANCELLED = "cancelled", "Cancelled"


# Named groups. Only a draft is edited: a scheduled or held campaign goes back to draft first,
# so what a manager released is what goes out.
EDITABLE_STATES = (CampaignState.DRAFT,)
# Waiting to go: the scheduler starts a scheduled one when due; a held one waits for a manager.
WAITING_STATES = (CampaignState.SCHEDULED, CampaignState.HELD)
FINAL_STATES = (CampaignState.SENT, CampaignState.CANCELLED)

TRANSITIONS: dict[str, frozenset[str]] = {
    CampaignState.DRAFT: frozenset(
        {CampaignState.SCHEDULED, CampaignState.HELD, CampaignState.CANCELLED}
    ),
    CampaignState.SCHEDULED: frozenset(
        {
            CampaignState.DRAFT,
            CampaignState.HELD,
            CampaignState.SENDING,
            CampaignState.CANCELLED,
        }
    ),
    # held -> held: a manager keeps it held (the decision is recorded like a move).
    CampaignState.HELD: frozenset(
        {
            CampaignState.HELD,
            CampaignState.SCHEDULED,
            CampaignState.DRAFT,
            CampaignState.CANCELLED,
        }
    ),
    CampaignState.SENDING: frozenset({CampaignState.SENT, CampaignState.CANCELLED}),
    CampaignState.SENT: frozenset(),
    CampaignState.CANCELLED: frozenset(),
}


class HoldDecision(models.TextChoices):
    RELEASED = "released", "Released: send it"
    KEPT = "kept", "Kept held"


class RecipientState(models.TextChoices):
    QUEUED = "queued", "Queued"
    SENT = "sent", "Sent"
    FAILED = "failed", "Failed"
    SUPPRESSED = "suppressed", "Suppressed (unsubscribed)"


class EventAction(models.TextChoices):
    """What a CampaignEvent records (one per state change, and a manager's "keep held")."""

    SCHEDULED = "scheduled", "Scheduled"
    HELD = "held", "Held: access over target"
    RELEASED = "released", "Hold released by a manager"
    KEPT = "kept", "Kept held by a manager"
    UNSCHEDULED = "unscheduled", "Back to draft"
    STARTED = "started", "Sending started"
    FINISHED = "finished", "Sending finished"
    STOPPED = "stopped", "Stopped before sending"
    CANCELLED = "cancelled", "Cancelled"
