"""The content library's forms: filters, a new item, a version's text, a decision, a rule.
Forms parse and report bad input; the services decide."""

from __future__ import annotations

from django import forms

from refloop.content.enums import ClaimCategory, ContentKind, ContentState
from refloop.content.models import ClaimRule
from refloop.content.queries import EXPIRED
from refloop.directory.models import ServiceLine

DATE_INPUT = forms.DateInput(attrs={"type": "date"})


def _lines():
    return ServiceLine.objects.filter(active=True).only("id", "name").order_by("name")


class LibraryFilterForm(forms.Form):
    kind = forms.ChoiceField(required=False, choices=[("", "Any kind"), *ContentKind.choices])
    state = forms.ChoiceField(
        required=False,
        choices=[("", "Any state"), *ContentState.choices, (EXPIRED, "Expired")],
    )
    line = forms.ModelChoiceField(
        required=False,
        queryset=ServiceLine.objects.none(),
        empty_label="Any service line",
        label="Service line",
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["line"].queryset = _lines()


class ContentNewForm(forms.Form):
    kind = forms.ChoiceField(choices=[("", "Choose a kind"), *ContentKind.choices])
    title = forms.CharField(max_length=200)
    service_line = forms.ModelChoiceField(
        required=False,
        queryset=ServiceLine.objects.none(),
        empty_label="No service line",
        help_text="Required for a provider page.",
    )
    subject = forms.CharField(required=False, max_length=200, help_text="E-mails only.")
    body = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 12}))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["service_line"].queryset = _lines()


class VersionTextForm(forms.Form):
    subject = forms.CharField(required=False, max_length=200)
    body = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 18}),
        help_text="Plain text: a blank line starts a paragraph, '# ' a heading, '- ' a list "
        "item, **stars** make bold. HTML is shown as typed, never run.",
    )


class DecisionForm(forms.Form):
    comment = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 3}))
    expires_on = forms.DateField(
        required=False, widget=DATE_INPUT, label="Approved until", help_text="Required to approve."
    )


class ClaimRuleForm(forms.Form):
    name = forms.CharField(max_length=80)
    category = forms.ChoiceField(choices=ClaimCategory.choices)
    pattern = forms.CharField(
        max_length=400,
        help_text="A regular expression, matched case-insensitively, never inside a word.",
    )
    unless = forms.CharField(
        required=False,
        max_length=400,
        label="Unless the sentence also matches",
        help_text="Optional: a match is not flagged when its sentence matches this too "
        "(say, a cited source).",
    )
    explanation = forms.CharField(max_length=400, widget=forms.Textarea(attrs={"rows": 2}))
    active = forms.BooleanField(required=False, initial=True)

    @classmethod
    def for_rule(cls, rule: ClaimRule | None, data=None):
        if rule is None:
            return cls(data)
        initial = {f: getattr(rule, f) for f in cls.base_fields}
        return cls(data, initial=initial)


class ClaimsTryForm(forms.Form):
    text = forms.CharField(
        required=False, max_length=50_000, widget=forms.Textarea(attrs={"rows": 4})
    )
