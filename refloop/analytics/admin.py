"""The fact table is derived data, rebuilt by analytics.sources: the admin only looks at the
cursor (how far the facts have read the events). Fact rows carry referral ids and times, read
on the dashboards; they are not browsed here."""

from django.contrib import admin

from refloop.analytics.models import FactCursor
from refloop.core.admin import ReadOnlyAdminMixin


@admin.register(FactCursor)
class FactCursorAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("name", "last_event_id", "lease_until", "updated_at")
