from django.urls import path

from refloop.web.views import campaigns

urlpatterns = [
    path("", campaigns.campaigns, name="campaigns"),
    path("new/", campaigns.campaign_new, name="campaign_new"),
    path("held/", campaigns.campaigns_held_queue, name="campaigns_held"),
    path("<int:campaign_id>/", campaigns.campaign_detail, name="campaign_detail"),
    path("<int:campaign_id>/edit/", campaigns.campaign_edit, name="campaign_edit"),
    path("<int:campaign_id>/preview/", campaigns.campaign_preview, name="campaign_preview"),
    path("<int:campaign_id>/schedule/", campaigns.campaign_schedule_view, name="campaign_schedule"),
    path(
        "<int:campaign_id>/unschedule/",
        campaigns.campaign_unschedule_view,
        name="campaign_unschedule",
    ),
    path("<int:campaign_id>/cancel/", campaigns.campaign_cancel_view, name="campaign_cancel"),
    path(
        "<int:campaign_id>/hold/", campaigns.campaign_hold_decide_view, name="campaign_hold_decide"
    ),
]
