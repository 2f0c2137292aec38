"""Admins register FHIR API clients here (no patient data). An API key is typed once and kept only
as its hash; SMART clients register their public keys (JWKS) instead."""

from django import forms
from django.contrib import admin

from refloop.interop.fhir.auth import key_hash
from refloop.interop.fhir.models import ApiClient


class ApiClientForm(forms.ModelForm):
    new_api_key = forms.CharField(
        required=False,
        min_length=24,
        widget=forms.PasswordInput(render_value=False),
        help_text="Type a new key (at least 24 characters) to replace the current one. Only its "
        "hash is kept: give the key to the client now.",
    )

    class Meta:
        model = ApiClient
        fields = ("name", "organization", "client_id", "scopes", "jwks", "active")

    def save(self, commit=True):
        client = super().save(commit=False)
        if self.cleaned_data.get("new_api_key"):
            client.key_hash = key_hash(self.cleaned_data["new_api_key"])
        if commit:
            client.save()
        return client


@admin.register(ApiClient)
class ApiClientAdmin(admin.ModelAdmin):
    form = ApiClientForm
    list_display = ("name", "client_id", "organization", "active", "created_at")
    list_filter = ("active",)
    search_fields = ("name", "client_id")
    autocomplete_fields = ("organization",)
