"""Appointment calendars: visit types, slot templates per clinician, the slots they make, and
the daily third-next-available history (IHI)."""

from django.db import models
from django.db.models import Q

from refloop.directory.models import Clinician, ServiceLine


class VisitType(models.Model):
    """New consult, urgent consult, procedure...: what a slot is for and how long it takes."""

    service_line = models.ForeignKey(
        ServiceLine, on_delete=models.CASCADE, related_name="visit_types"
    )
    code = models.SlugField(max_length=40)
    name = models.CharField(max_length=120)
    minutes = models.PositiveSmallIntegerField(default=30)
    # The visit type a new referral is booked into (one per service line).
    for_new_referrals = models.BooleanField(default=False)

    class Meta:
        ordering = ["service_line", "name"]
        constraints = [
            models.UniqueConstraint(fields=["service_line", "code"], name="visit_type_unique"),
            models.UniqueConstraint(
                fields=["service_line"],
                condition=Q(for_new_referrals=True),
                name="one_new_referral_visit_type",
            ),
        ]

    def __str__(self):
        return f"{self.service_line}: {self.name}"


class SlotTemplate(models.Model):
    """A clinician's repeating session: on this weekday, from start to end, slots of one visit
    type at one location. Some are held back for urgent and stat referrals."""

    class Weekday(models.IntegerChoices):
        MONDAY = 0, "Monday"
        TUESDAY = 1, "Tuesday"
        WEDNESDAY = 2, "Wednesday"
        THURSDAY = 3, "Thursday"
        FRIDAY = 4, "Friday"
        SATURDAY = 5, "Saturday"
        SUNDAY = 6, "Sunday"

    clinician = models.ForeignKey(
        Clinician, on_delete=models.CASCADE, related_name="slot_templates"
    )
    visit_type = models.ForeignKey(VisitType, on_delete=models.CASCADE, related_name="templates")
    weekday = models.PositiveSmallIntegerField(choices=Weekday.choices)
    start_time = models.TimeField()
    end_time = models.TimeField()
    location = models.CharField(max_length=200, blank=True)
    held_for_urgent = models.BooleanField(
        default=False, help_text="Slots kept for urgent and stat referrals."
    )
    active_from = models.DateField(null=True, blank=True)
    active_until = models.DateField(null=True, blank=True)

    class Meta:
        ordering = ["clinician", "weekday", "start_time"]
        constraints = [
            models.CheckConstraint(
                condition=Q(end_time__gt=models.F("start_time")), name="template_ends_after_start"
            )
        ]

    def __str__(self):
        return f"{self.clinician} {self.get_weekday_display()} {self.start_time:%H:%M}"


class Slot(models.Model):
    """One bookable time. Whether it is taken is the appointments' business: an appointment that
    holds it (booked, attended or missed) is unique per slot in the database."""

    service_line = models.ForeignKey(ServiceLine, on_delete=models.CASCADE, related_name="slots")
    clinician = models.ForeignKey(Clinician, on_delete=models.CASCADE, related_name="slots")
    visit_type = models.ForeignKey(VisitType, on_delete=models.PROTECT, related_name="slots")
    template = models.ForeignKey(
        SlotTemplate, null=True, blank=True, on_delete=models.SET_NULL, related_name="slots"
    )
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    location = models.CharField(max_length=200, blank=True)
    held_for_urgent = models.BooleanField(default=False)
    # Withdrawn (the clinician is away): never offered, kept for history.
    withdrawn = models.BooleanField(default=False)

    class Meta:
        ordering = ["starts_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["clinician", "starts_at"], name="slot_unique_time"),
        ]
        indexes = [
            models.Index(fields=["service_line", "visit_type", "starts_at"]),
        ]

    def __str__(self):
        return f"{self.clinician} {self.starts_at:%Y-%m-%d %H:%M}"


class ThirdNextAvailable(models.Model):
    """IHI's third next available appointment, measured once a day at a fixed time: calendar days
    from then to the third bookable slot of a visit type for a clinician (held-for-urgent slots
    excluded). `days` is null when fewer than three slots are open in the horizon."""

    measured_on = models.DateField()
    service_line = models.ForeignKey(ServiceLine, on_delete=models.CASCADE, related_name="+")
    clinician = models.ForeignKey(Clinician, on_delete=models.CASCADE, related_name="+")
    visit_type = models.ForeignKey(VisitType, on_delete=models.CASCADE, related_name="+")
    days = models.PositiveSmallIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["-measured_on", "service_line", "clinician"]
        constraints = [
            models.UniqueConstraint(
                fields=["measured_on", "clinician", "visit_type"], name="tna_once_a_day"
            )
        ]
