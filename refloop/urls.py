from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("admin/", admin.site.urls),
    path("hooks/", include("refloop.messaging.urls")),
    path("", include("refloop.web.urls")),
]
