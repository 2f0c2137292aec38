"""Forms of the gift ledger: they parse and check input; refloop.gifts.services decides."""

from __future__ import annotations

import datetime as dt

from django import forms
from django.utils import timezone

from refloop.directory.models import Clinician
from refloop.gifts.enums import Basis, GiftKind, LimitKind
from refloop.outreach.models import Activity
from refloop.web.forms import DATE_INPUT, LongSelect

ACTIVITY_WINDOW = dt.timedelta(days=180)


class LongSelectMultiple(forms.SelectMultiple):
    """The fast select of web.forms (hundreds of clinicians), choosing several."""

    render = LongSelect.render

    def build_attrs(self, base_attrs, extra_attrs=None):
        return {**super().build_attrs(base_attrs, extra_attrs), "multiple": True, "size": 8}


class ClinicianMultipleField(forms.ModelMultipleChoiceField):
    widget = LongSelectMultiple

    def label_from_instance(self, obj):
        return f"{obj.last_name}, {obj.first_name} {obj.credentials}".strip()


class ActivityChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj):
        return f"{obj.starts_at:%Y-%m-%d} · {obj.title}"


class GiftForm(forms.Form):
    kind = forms.ChoiceField(choices=GiftKind.choices, initial=GiftKind.MEAL)
    basis = forms.ChoiceField(
        choices=Basis.choices, initial=Basis.NON_MONETARY, label="Given under"
    )
    description = forms.CharField(
        max_length=200, help_text="What it was: 'Lunch-and-learn, sandwiches'."
    )
    date = forms.DateField(widget=DATE_INPUT)
    total = forms.DecimalField(
        max_digits=10,
        decimal_places=2,
        min_value=0.01,
        label="Total cost ($)",
        help_text="The whole cost; a shared meal is split equally among everyone below.",
    )
    activity = ActivityChoiceField(
        queryset=Activity.objects.none(),
        required=False,
        help_text="Those marked as attending it share the cost.",
        label="Outreach activity",
    )
    clinicians = ClinicianMultipleField(
        queryset=Clinician.objects.none(), required=False, label="Clinicians present"
    )
    others = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3}),
        required=False,
        label="Other people present",
        help_text="One per line (office manager, referral coordinator): they share the cost, "
        "and count against no physician's limit.",
    )
    cash_equivalent = forms.BooleanField(
        required=False,
        label="Cash or a cash equivalent (gift card, prepaid card, voucher)",
        help_text="Never allowed: such an item is refused.",
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        now = timezone.now()
        self.fields["activity"].queryset = (
            Activity.objects.filter(
                starts_at__gte=now - ACTIVITY_WINDOW, starts_at__lte=now + ACTIVITY_WINDOW
            )
            .only("id", "title", "starts_at")
            .order_by("-starts_at")
        )
        self.fields["clinicians"].queryset = Clinician.objects.only(
            "id", "first_name", "last_name", "credentials"
        ).order_by("last_name", "first_name")

    def service_args(self) -> dict:
        data = self.cleaned_data
        return {
            "kind": data["kind"],
            "basis": data["basis"],
            "description": data["description"],
            "on": data["date"],
            "total": data["total"],
            "clinician_ids": [c.pk for c in data["clinicians"]],
            "others": [line for line in data["others"].splitlines() if line.strip()],
            "activity_id": data["activity"].pk if data["activity"] else None,
            "cash_equivalent": data["cash_equivalent"],
        }


class GiftLimitForm(forms.Form):
    year = forms.IntegerField(min_value=2000, max_value=2100)
    kind = forms.ChoiceField(choices=LimitKind.choices)
    amount = forms.DecimalField(max_digits=10, decimal_places=2, min_value=1, label="Amount ($)")
    source = forms.CharField(
        max_length=300, help_text="Where CMS published it (CPI-U Updates page, Federal Register)."
    )


class CureRepayForm(forms.Form):
    repaid_on = forms.DateField(widget=DATE_INPUT, label="Repaid on")
    amount = forms.DecimalField(max_digits=10, decimal_places=2, min_value=0.01, label="Amount ($)")


class CancelForm(forms.Form):
    reason = forms.CharField(max_length=200)
