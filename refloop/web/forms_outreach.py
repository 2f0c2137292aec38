"""Forms of outreach pages. They parse and check input; the services decide (materials usable on
the activity's day, status changes, capacity)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django import forms
from django.utils import timezone

from refloop.content.enums import ContentState
from refloop.content.models import ContentVersion
from refloop.directory.models import Clinician, Organization
from refloop.outreach.enums import ActivityKind, ActivityStatus
from refloop.outreach.queries import clinicians_at, practices_of
from refloop.outreach.services import ActivityDraft, FollowUpDraft
from refloop.relations.models import OfficeContact, TargetList

DATE_INPUT = forms.DateInput(attrs={"type": "date"})
TIME_INPUT = forms.TimeInput(attrs={"type": "time"}, format="%H:%M")


class ClinicianField(forms.ModelMultipleChoiceField):
    def label_from_instance(self, obj):
        return str(obj)


class MaterialField(forms.ModelMultipleChoiceField):
    def label_from_instance(self, obj):
        until = f", approved until {obj.expires_on:%b %-d, %Y}" if obj.expires_on else ""
        return f"{obj.item.title} v{obj.number}{until}"


def _materials():
    """Approved versions (the service refuses one not usable on the activity's day, by name)."""
    return (
        ContentVersion.objects.filter(state=ContentState.APPROVED)
        .select_related("item")
        .order_by("item__title", "-number")
    )


def _starts_at(day: dt.date, time: dt.time) -> dt.datetime:
    return dt.datetime.combine(day, time, timezone.get_current_timezone())


class FollowUpFields(forms.Form):
    follow_up = forms.CharField(
        max_length=300, required=False, label="Follow-up", help_text="What to do next, if any."
    )
    follow_up_due = forms.DateField(required=False, widget=DATE_INPUT, label="Due")

    def clean(self):
        data = super().clean()
        if data.get("follow_up") and not data.get("follow_up_due"):
            self.add_error("follow_up_due", "Give the follow-up a due date.")
        if data.get("follow_up_due") and not data.get("follow_up"):
            self.add_error("follow_up", "Say what the follow-up is.")
        return data

    def follow_ups(self) -> list[FollowUpDraft]:
        text = self.cleaned_data.get("follow_up")
        return [FollowUpDraft(self.cleaned_data["follow_up_due"], text)] if text else []


class ActivityForm(forms.Form):
    kind = forms.ChoiceField(choices=ActivityKind.choices)
    title = forms.CharField(max_length=200)
    day = forms.DateField(widget=DATE_INPUT, label="Date")
    time = forms.TimeField(widget=TIME_INPUT, initial=dt.time(12, 0))
    organization = forms.ModelChoiceField(
        queryset=Organization.objects.none(), required=False, label="Practice"
    )
    clinicians = ClinicianField(
        queryset=Clinician.objects.none(),
        required=False,
        help_text="Invited when planned; those who attended once logged.",
    )
    contacts = forms.ModelMultipleChoiceField(
        queryset=OfficeContact.objects.none(), required=False, label="Office staff on file"
    )
    office_staff = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 2}),
        required=False,
        label="Other office staff",
        help_text="Name, role; one a line.",
    )
    topics = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), required=False)
    materials = MaterialField(
        queryset=ContentVersion.objects.none(),
        required=False,
        label="Approved materials used",
    )
    cost = forms.DecimalField(
        min_value=Decimal(0), max_digits=10, decimal_places=2, initial=Decimal(0)
    )
    place = forms.CharField(max_length=300, required=False, help_text="Events: where.")
    join_link = forms.URLField(
        required=False, assume_scheme="https", help_text="Webinars: the join link."
    )
    capacity = forms.IntegerField(min_value=1, required=False, help_text="Events: seats.")
    notes = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), required=False)

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        practices = practices_of(user=user)
        self.fields["organization"].queryset = practices
        self.fields["clinicians"].queryset = clinicians_at(practices=practices)
        self.fields["contacts"].queryset = (
            OfficeContact.objects.filter(organization__in=practices)
            .select_related("organization")
            .order_by("organization__name", "name")
        )
        self.fields["materials"].queryset = _materials()

    @classmethod
    def initial_of(cls, activity) -> dict:
        local = timezone.localtime(activity.starts_at)
        return {
            "kind": activity.kind,
            "title": activity.title,
            "day": local.date(),
            "time": local.time().replace(second=0, microsecond=0),
            "organization": activity.organization_id,
            # A held activity's clinicians are those who attended.
            "clinicians": [
                a.clinician_id
                for a in activity.attendees.all()
                if a.attended or activity.status != ActivityStatus.DONE
            ],
            "contacts": list(activity.contacts.values_list("pk", flat=True)),
            "office_staff": activity.office_staff,
            "topics": activity.topics,
            "materials": list(activity.materials.values_list("pk", flat=True)),
            "cost": activity.cost,
            "place": activity.place,
            "join_link": activity.join_link,
            "capacity": activity.capacity,
            "notes": activity.notes,
        }

    def draft(self) -> ActivityDraft:
        data = self.cleaned_data
        return ActivityDraft(
            kind=data["kind"],
            title=data["title"],
            starts_at=_starts_at(data["day"], data["time"]),
            organization=data["organization"],
            clinicians=list(data["clinicians"]),
            contacts=list(data["contacts"]),
            office_staff=data["office_staff"],
            topics=data["topics"],
            notes=data["notes"],
            cost=data["cost"],
            materials=list(data["materials"]),
            place=data["place"],
            join_link=data["join_link"],
            capacity=data["capacity"],
        )


class QuickVisitForm(FollowUpFields):
    """The week page's form: a visit that just happened, in a few taps."""

    organization = forms.ModelChoiceField(queryset=Organization.objects.none(), label="Practice")
    clinicians = ClinicianField(
        queryset=Clinician.objects.none(), required=False, label="Clinicians met"
    )
    day = forms.DateField(widget=DATE_INPUT, label="Date")
    topics = forms.CharField(max_length=500, required=False)
    notes = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), required=False)

    field_order = ["organization", "clinicians", "day", "topics", "notes"]

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        practices = practices_of(user=user)
        self.fields["organization"].queryset = practices
        self.fields["clinicians"].queryset = clinicians_at(practices=practices)
        self.fields["day"].initial = timezone.localdate()

    def clean(self):
        data = super().clean()
        day = data.get("day")
        if day and day > timezone.localdate():
            self.add_error("day", "A visit logged as done cannot be in the future: plan it.")
        return data

    def draft(self) -> ActivityDraft:
        data = self.cleaned_data
        now = timezone.localtime()
        time = now.time() if data["day"] == now.date() else dt.time(12, 0)
        return ActivityDraft(
            kind=ActivityKind.OFFICE_VISIT,
            title=f"Visit: {data['organization'].name}",
            starts_at=_starts_at(data["day"], time.replace(second=0, microsecond=0)),
            organization=data["organization"],
            clinicians=list(data["clinicians"]),
            topics=data["topics"],
            notes=data["notes"],
        )


class LogForm(FollowUpFields):
    attended = ClinicianField(
        queryset=Clinician.objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        label="Clinicians who attended",
    )
    registrations = forms.MultipleChoiceField(
        required=False, widget=forms.CheckboxSelectMultiple, label="Registrants who came"
    )
    office_staff = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 2}), required=False, label="Office staff met"
    )
    topics = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), required=False)
    notes = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), required=False)
    cost = forms.DecimalField(min_value=Decimal(0), max_digits=10, decimal_places=2)

    field_order = ["attended", "registrations", "office_staff", "topics", "notes", "cost"]

    def __init__(self, *args, activity, **kwargs):
        kwargs.setdefault(
            "initial",
            {
                "attended": [a.clinician_id for a in activity.attendees.all()],
                "office_staff": activity.office_staff,
                "topics": activity.topics,
                "notes": activity.notes,
                "cost": activity.cost,
            },
        )
        super().__init__(*args, **kwargs)
        invited = [a.clinician_id for a in activity.attendees.all()]
        at_practice = (
            Clinician.objects.filter(roles__organization=activity.organization)
            if activity.organization_id
            else Clinician.objects.none()
        )
        self.fields["attended"].queryset = (
            Clinician.objects.filter(pk__in=invited) | at_practice
        ).distinct()
        registrations = list(activity.registrations.all())
        if registrations:
            self.fields["registrations"].choices = [
                (str(r.pk), f"{r.name} ({r.office or r.email})") for r in registrations
            ]
        else:
            del self.fields["registrations"]

    def registrations_attended(self) -> list[int] | None:
        if "registrations" not in self.fields:
            return None
        return [int(pk) for pk in self.cleaned_data["registrations"]]


class CancelForm(forms.Form):
    reason = forms.CharField(max_length=200, label="Why is it cancelled?")


class InviteForm(forms.Form):
    target_list = forms.ModelChoiceField(queryset=TargetList.objects.none(), label="Target list")

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        lists = TargetList.objects.filter(owner=user) | TargetList.objects.filter(shared=True)
        self.fields["target_list"].queryset = lists.distinct().order_by("name", "id")


class EffectForm(forms.Form):
    start = forms.DateField(widget=DATE_INPUT, required=False, label="Touched from")
    end = forms.DateField(widget=DATE_INPUT, required=False, label="until (not included)")
    months = forms.IntegerField(
        min_value=1, max_value=12, required=False, initial=3, label="Months before and after"
    )
    mine = forms.BooleanField(required=False, label="My touches only")

    def clean(self):
        data = super().clean()
        if data.get("start") and data.get("end") and data["start"] >= data["end"]:
            raise forms.ValidationError("The period must end after it starts.")
        return data
