"""Forms of the referrers' pages: a target list's criteria, its name and sharing, office staff."""

from __future__ import annotations

from django import forms

from refloop.analytics.metrics.referrers import SEGMENTS
from refloop.directory.models import Clinician, ServiceLine
from refloop.relations.enums import ContactRole
from refloop.relations.models import Territory
from refloop.relations.queries import SORTS, Criteria

SEGMENT_CHOICES = [(s, s.capitalize()) for s in SEGMENTS]
SORT_CHOICES = [("score", "Score"), ("total", "Total"), ("change", "Recent change")]
MAX_MIN_TOTAL = 100_000


class CriteriaForm(forms.Form):
    """Who is on a list (relations.queries.Criteria). Read from GET for the ad-hoc filter, from
    POST when a list is saved."""

    segments = forms.MultipleChoiceField(
        choices=SEGMENT_CHOICES, required=False, widget=forms.CheckboxSelectMultiple
    )
    lines = forms.MultipleChoiceField(
        label="Service lines used", required=False, widget=forms.CheckboxSelectMultiple
    )
    mine = forms.BooleanField(label="My territories only", required=False)
    territory = forms.ModelChoiceField(
        queryset=Territory.objects.order_by("name"), required=False, empty_label="Any territory"
    )
    specialty = forms.ChoiceField(required=False)
    min_total = forms.IntegerField(
        label="At least this many referrals in 24 months",
        required=False,
        min_value=0,
        max_value=MAX_MIN_TOTAL,
    )
    drop_off = forms.BooleanField(label="Drop-off alert only", required=False)
    not_yet_referring = forms.BooleanField(
        label="Not yet referring (clinicians in the territory with no referral in 24 months)",
        required=False,
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        names = ServiceLine.objects.filter(active=True).order_by("name")
        self.fields["lines"].choices = [(n, n) for n in names.values_list("name", flat=True)]
        specialties = (
            Clinician.objects.exclude(specialty="")
            .order_by("specialty")
            .values_list("specialty", flat=True)
            .distinct()
        )
        self.fields["specialty"].choices = [("", "Any specialty")] + [(s, s) for s in specialties]

    def clean(self):
        data = super().clean()
        if data.get("not_yet_referring"):
            mixed = [
                label
                for name, label in (
                    ("segments", "segments"),
                    ("lines", "service lines"),
                    ("min_total", "a minimum volume"),
                    ("drop_off", "drop-off alerts"),
                )
                if data.get(name)
            ]
            if mixed:
                raise forms.ValidationError(
                    "Clinicians not yet referring have no referrals to filter by: "
                    f"leave out {', '.join(mixed)}, or untick “Not yet referring”."
                )
        return data

    def criteria(self) -> Criteria:
        data = self.cleaned_data
        return Criteria(
            segments=tuple(data.get("segments") or ()),
            lines=tuple(data.get("lines") or ()),
            territory_id=data["territory"].pk if data.get("territory") else None,
            mine=bool(data.get("mine")),
            specialty=data.get("specialty") or "",
            min_total=data.get("min_total") or 0,
            drop_off=bool(data.get("drop_off")),
            not_yet_referring=bool(data.get("not_yet_referring")),
        )

    @staticmethod
    def initial_of(criteria: Criteria) -> dict:
        return {
            "segments": list(criteria.segments),
            "lines": list(criteria.lines),
            "territory": criteria.territory_id,
            "mine": criteria.mine,
            "specialty": criteria.specialty,
            "min_total": criteria.min_total or None,
            "drop_off": criteria.drop_off,
            "not_yet_referring": criteria.not_yet_referring,
        }


class TargetListForm(CriteriaForm):
    name = forms.CharField(max_length=120)
    shared = forms.BooleanField(label="Share with other liaisons", required=False)

    field_order = ["name", "shared"]


class SortForm(forms.Form):
    sort = forms.ChoiceField(choices=SORT_CHOICES, required=False)

    def chosen(self) -> str:
        if self.is_valid() and self.cleaned_data.get("sort") in SORTS:
            return self.cleaned_data["sort"]
        return "score"


class OfficeContactForm(forms.Form):
    name = forms.CharField(max_length=200)
    role = forms.ChoiceField(choices=ContactRole.choices)
    email = forms.EmailField(required=False)
    phone = forms.CharField(max_length=30, required=False)
