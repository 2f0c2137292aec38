"""The import and export pages' forms: they parse what staff typed; the services decide."""

from __future__ import annotations

from django import forms

from refloop.directory.models import ServiceLine
from refloop.interop.files.exports import FORMATS
from refloop.interop.files.models import ImportSource
from refloop.interop.files.queries import DATASETS, ExportFilters
from refloop.interop.files.rows import FIELDS, VALUE_FIELDS
from refloop.referrals.enums import State


class UploadForm(forms.Form):
    source = forms.ModelChoiceField(queryset=ImportSource.objects.all(), empty_label=None)
    file = forms.FileField(help_text="CSV (.csv) or Excel (.xlsx), first row the column names.")


class SourceForm(forms.Form):
    """The mapping as fields: their column for each of ours, value pairs as 'theirs = ours'
    lines, the date formats as strptime patterns."""

    name = forms.CharField(max_length=120)
    date_formats = forms.CharField(required=False, help_text="e.g. %m/%d/%Y, comma-separated")
    datetime_formats = forms.CharField(required=False, help_text="e.g. %m/%d/%Y %H:%M")

    def __init__(self, *args, source: ImportSource | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        mapping = source.mapping if source else {}
        if source:
            self.fields["name"].initial = source.name
            for key in ("date_formats", "datetime_formats"):
                self.fields[key].initial = ", ".join(mapping.get(key, []))
        for name, label in FIELDS:
            self.fields[f"col_{name}"] = forms.CharField(
                label=label, required=False, initial=mapping.get("columns", {}).get(name, "")
            )
        for name in VALUE_FIELDS:
            pairs = mapping.get("values", {}).get(name, {})
            self.fields[f"val_{name}"] = forms.CharField(
                label=f"Their {name.replace('_', ' ')} values = ours",
                required=False,
                widget=forms.Textarea(attrs={"rows": 3}),
                initial="\n".join(f"{k} = {v}" for k, v in pairs.items()),
            )

    def clean(self):
        data = super().clean()
        for name in VALUE_FIELDS:
            for line in (data.get(f"val_{name}") or "").splitlines():
                if line.strip() and "=" not in line:
                    self.add_error(f"val_{name}", f"Write each pair as 'theirs = ours': {line!r}")
        return data

    def mapping(self) -> dict:
        data = self.cleaned_data
        values = {}
        for name in VALUE_FIELDS:
            pairs = {}
            for line in (data.get(f"val_{name}") or "").splitlines():
                if "=" in line:
                    theirs, ours = line.rsplit("=", 1)
                    pairs[theirs.strip()] = ours.strip()
            if pairs:
                values[name] = pairs
        return {
            "columns": {n: data[f"col_{n}"].strip() for n, _ in FIELDS if data.get(f"col_{n}")},
            "values": values,
            "date_formats": _list(data.get("date_formats")),
            "datetime_formats": _list(data.get("datetime_formats")),
        }


def _list(text: str | None) -> list[str]:
    return [part.strip() for part in (text or "").split(",") if part.strip()]


class RowForm(forms.Form):
    """A quarantined row's values, one field per column of the file."""

    def __init__(self, *args, values: dict[str, str], **kwargs):
        super().__init__(*args, **kwargs)
        self.columns = list(values)
        for index, (column, value) in enumerate(values.items()):
            self.fields[f"c{index}"] = forms.CharField(
                label=column, required=False, initial=value, max_length=2000
            )

    def corrected(self) -> dict[str, str]:
        return {column: self.cleaned_data[f"c{i}"] for i, column in enumerate(self.columns)}


class DismissForm(forms.Form):
    reason = forms.CharField(max_length=300)


class ExportForm(forms.Form):
    dataset = forms.ChoiceField(choices=list(DATASETS.items()))
    format = forms.ChoiceField(choices=list(FORMATS.items()))
    start = forms.DateField(required=False, label="Received from")
    end = forms.DateField(required=False, label="Received to")
    service_line = forms.ModelChoiceField(
        queryset=ServiceLine.objects.all(), required=False, empty_label="All service lines"
    )
    state = forms.ChoiceField(choices=[("", "All states"), *State.choices], required=False)

    def filters(self) -> ExportFilters:
        data = self.cleaned_data
        return ExportFilters(
            start=data.get("start"),
            end=data.get("end"),
            service_line_id=data["service_line"].pk if data.get("service_line") else None,
            state=data.get("state") or "",
        )
