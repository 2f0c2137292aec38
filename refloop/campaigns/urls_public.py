from django.urls import path  # noqa: F401

# Public (no login): unsubscribe, and open and click tracking where allowed.
urlpatterns: list = []
