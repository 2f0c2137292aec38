from django.urls import path

from refloop.campaigns import views_public

# Public (no login): unsubscribe, and open and click tracking where allowed.
urlpatterns = [
    path("u/<str:token>/", views_public.unsubscribe, name="campaign_unsubscribe"),
    path("o/<str:token>.gif", views_public.opened, name="campaign_open"),
    path("c/<str:token>/<int:index>/", views_public.clicked, name="campaign_click"),
]
