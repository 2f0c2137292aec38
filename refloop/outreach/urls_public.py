from django.urls import path

from refloop.outreach import views_public

# Public (no login; the token is the only key): event registration and unsubscribe.
urlpatterns = [
    path("i/<str:token>/", views_public.invitation, name="event_invitation"),
    path("u/<str:token>/", views_public.unsubscribe, name="event_unsubscribe"),
    path("<str:token>/", views_public.register, name="event_register"),
]
