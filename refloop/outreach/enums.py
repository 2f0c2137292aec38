from django.db import models


class ActivityKind(models.TextChoices):
    OFFICE_VISIT = "office_visit", "Office visit"
    COORDINATOR_CHECK_IN = "coordinator_check_in", "Check-in with referral coordinators"
    LUNCH_AND_LEARN = "lunch_and_learn", "Lunch-and-learn"
    COMMUNITY_EVENT = "community_event", "Community event"
    SMALL_GROUP = "small_group", "Small-group session"
    WEBINAR = "webinar", "Webinar"
    CALL = "call", "Call"
    EMAIL = "email", "E-mail"


class ActivityStatus(models.TextChoices):
    PLANNED = "planned", "Planned"
    DONE = "done", "Done"
    CANCELLED = "cancelled", "Cancelled"


# Named groups of the workflow: only a planned activity is logged or cancelled; an event (people
# register for it) has a place or a join link and may have a capacity.
OPEN_STATUSES = (ActivityStatus.PLANNED,)
TRANSITIONS: dict[str, frozenset[str]] = {
    ActivityStatus.PLANNED: frozenset({ActivityStatus.DONE, ActivityStatus.CANCELLED}),
    ActivityStatus.DONE: frozenset(),
    ActivityStatus.CANCELLED: frozenset(),
}
EVENT_KINDS = (
    ActivityKind.LUNCH_AND_LEARN,
    ActivityKind.COMMUNITY_EVENT,
    ActivityKind.SMALL_GROUP,
    ActivityKind.WEBINAR,
)
# A touch without meeting anyone (counts as outreach, but has no place).
REMOTE_KINDS = (ActivityKind.CALL, ActivityKind.EMAIL, ActivityKind.WEBINAR)


class FollowUpKind(models.TextChoices):
    FOLLOW_UP = "follow_up", "Follow-up"
    DROP_OFF = "drop_off", "Drop-off alert"


class InvitationStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    SENDING = "sending", "Sending"
    SENT = "sent", "Sent"
    SUPPRESSED = "suppressed", "Not sent (unsubscribed)"
    FAILED = "failed", "Failed"
