"""Admins look at campaigns and the suppression list here; they change nothing. Campaigns are
written by campaigns.services (the pages at /campaigns/), and a suppression is for good."""

from django.contrib import admin

from refloop.campaigns.models import Campaign, CampaignEvent, Suppression
from refloop.core.admin import ReadOnlyAdminMixin, ReadOnlyInline


@admin.register(Suppression)
class SuppressionAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("email", "reason", "source", "created_at")
    search_fields = ("email",)
    list_filter = ("reason",)


class CampaignEventInline(ReadOnlyInline):
    model = CampaignEvent
    fields = ("at", "action", "from_state", "to_state", "actor", "reason")


@admin.register(Campaign)
class CampaignAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("name", "state", "scheduled_at", "target_list", "content_item", "created_by")
    list_filter = ("state",)
    search_fields = ("name",)
    inlines = [CampaignEventInline]
    exclude = ("lease_until",)
