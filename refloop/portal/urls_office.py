from django.urls import path

from refloop.portal import views_office as views

urlpatterns = [
    path("", views.office_home, name="office_home"),
    path("login/", views.office_login, name="office_login"),
    path("login/code/", views.office_login_code, name="office_login_code"),
    path("logout/", views.office_logout, name="office_logout"),
    path("accept/<str:token>/", views.office_accept, name="office_accept"),
    path("two-factor/", views.office_two_factor_setup, name="office_two_factor_setup"),
    path("referrals/<int:pk>/", views.office_referral, name="office_referral"),
    path("referrals/<int:pk>/records/", views.office_upload, name="office_upload"),
    path(
        "referrals/<int:pk>/documents/<int:document_pk>/",
        views.office_document,
        name="office_document",
    ),
    # Staff page (managers, intake): invite a person at a referring office.
    path("invitations/", views.office_invitations, name="office_invitations"),
]
