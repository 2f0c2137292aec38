from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("admin/", admin.site.urls),
    # Patients' single-use links (no login).
    path("p/", include("refloop.portal.urls")),
    path("hooks/", include("refloop.interop.urls")),
    path("", include("refloop.web.urls")),
]
