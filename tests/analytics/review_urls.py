"""The project's URLs with the monthly review's (the lead links it into web/urls.py)."""

from django.urls import include, path

from refloop.urls import urlpatterns as project

urlpatterns = [path("review/", include("refloop.web.urls_review")), *project]
