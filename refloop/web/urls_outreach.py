from django.urls import path

from refloop.web.views import outreach

urlpatterns = [
    path("", outreach.week, name="outreach_week"),
    path("log-visit/", outreach.visit_log, name="outreach_visit_log"),
    path("effect/", outreach.effect, name="outreach_effect"),
    path("activities/new/", outreach.activity_new, name="outreach_activity_new"),
    path("activities/<int:pk>/", outreach.activity_page, name="outreach_activity"),
    path("activities/<int:pk>/edit/", outreach.activity_change, name="outreach_activity_edit"),
    path("activities/<int:pk>/log/", outreach.activity_log_page, name="outreach_activity_log"),
    path(
        "activities/<int:pk>/cancel/",
        outreach.activity_cancel_view,
        name="outreach_activity_cancel",
    ),
    path("activities/<int:pk>/invite/", outreach.event_invite_view, name="outreach_invite"),
    path("follow-ups/<int:pk>/done/", outreach.follow_up_done, name="outreach_follow_up_done"),
]
