from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("admin/", admin.site.urls),
    # Patients' single-use links (no login).
    path("p/", include("refloop.portal.urls")),
    path("hooks/", include("refloop.interop.urls")),
    path("fhir/R4/", include("refloop.interop.fhir.urls")),
    # Referring offices: the public e-referral form (no login) and portal accounts.
    path("refer/", include("refloop.portal.urls_refer")),
    path("office/", include("refloop.portal.urls_office")),
    path("m/", include("refloop.campaigns.urls_public")),
    path("e/", include("refloop.outreach.urls_public")),  # event registration (no login)
    path("", include("refloop.web.urls")),
]
