"""Campaign forms: they parse what was chosen; campaigns.services decides whether it may go."""

from __future__ import annotations

from django import forms

from refloop.campaigns.enums import HoldDecision
from refloop.content.enums import ContentKind
from refloop.content.models import ContentItem
from refloop.directory.models import ServiceLine
from refloop.relations.models import TargetList
from refloop.relations.queries import lists_visible
from refloop.web.forms import DATETIME_INPUT


class CampaignForm(forms.Form):
    name = forms.CharField(max_length=200)
    target_list = forms.ModelChoiceField(queryset=TargetList.objects.none())
    content_item = forms.ModelChoiceField(
        queryset=ContentItem.objects.filter(kind=ContentKind.EMAIL),
        label="Approved e-mail",
        help_text="Only an approved, unexpired version is ever sent.",
    )
    service_line = forms.ModelChoiceField(
        queryset=ServiceLine.objects.filter(active=True),
        required=False,
        label="Service line promoted",
        help_text="Its access is checked: over target, the campaign waits for a manager.",
    )
    sender_name = forms.CharField(max_length=200, help_text="Must name the practice.")
    sender_address = forms.EmailField()
    scheduled_at = forms.DateTimeField(
        widget=DATETIME_INPUT, label="Send at", input_formats=["%Y-%m-%dT%H:%M"]
    )
    tracking_allowed = forms.BooleanField(
        required=False,
        label="Record opens and clicks",
        help_text="Only where the practice allows tracking too.",
    )

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["target_list"].queryset = lists_visible(user=user)

    def values(self) -> dict:
        return dict(self.cleaned_data)


class HoldDecisionForm(forms.Form):
    decision = forms.ChoiceField(choices=HoldDecision.choices)
    reason = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 2}), max_length=2000, help_text="Kept with it."
    )
