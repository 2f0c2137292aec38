from django.urls import path

from refloop.web.views import referrers

urlpatterns = [
    path("", referrers.home, name="referrers"),
    path("lists/new/", referrers.list_new, name="referrers_list_new"),
    path("lists/<int:pk>/", referrers.list_detail, name="referrers_list"),
    path("lists/<int:pk>/edit/", referrers.list_edit, name="referrers_list_edit"),
    path("lists/<int:pk>/delete/", referrers.list_delete, name="referrers_list_delete"),
    path("<int:pk>/", referrers.clinician_profile, name="referrers_clinician"),
    path("practice/<int:pk>/", referrers.practice_profile, name="referrers_practice"),
    path("practice/<int:pk>/contacts/", referrers.contact_new, name="referrers_contact_new"),
    path(
        "practice/<int:pk>/contacts/<int:contact_id>/",
        referrers.contact_edit,
        name="referrers_contact_edit",
    ),
    path(
        "practice/<int:pk>/contacts/<int:contact_id>/delete/",
        referrers.contact_delete,
        name="referrers_contact_delete",
    ),
]
