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
