from django.urls import include, path

from refloop.web.views import alerts, auth, calendar, loop, oversight, referrals, worklist

urlpatterns = [
    path("login/", auth.LoginView.as_view(), name="login"),
    path("logout/", auth.LogoutView.as_view(), name="logout"),
    path("two-factor/", auth.two_factor, name="two_factor"),
    path("two-factor/setup/", auth.two_factor_setup, name="two_factor_setup"),
    path("welcome/", auth.welcome, name="welcome"),
    path("", worklist.worklist, name="worklist"),
    path("worklist/assign/", worklist.worklist_assign, name="worklist_assign"),
    path("search/", worklist.search, name="search"),
    path("referrals/new/", referrals.referral_new, name="referral_new"),
    path("referrals/<int:pk>/", referrals.referral_detail, name="referral_detail"),
    path("referrals/<int:pk>/do/<slug:action>/", referrals.referral_act, name="referral_act"),
    path("referrals/<int:pk>/report/", loop.report_write, name="report_write"),
    path("r/ack/<str:token>/", loop.report_ack, name="report_ack"),
    path("documents/<int:pk>/", referrals.document_view, name="document_view"),
    path("documents/<int:pk>/original/", referrals.document_original, name="document_original"),
    path("access-log/", oversight.access_log, name="access_log"),
    path("program/", oversight.program_overview, name="program_overview"),
    path("alerts/", alerts.alert_list, name="alerts"),
    path("alerts/read/", alerts.alerts_read, name="alerts_read"),
    path("calendar/", calendar.calendar, name="calendar"),
    path("inbox/", include("refloop.web.urls_inbox")),
    path("interfaces/", include("refloop.web.urls_interfaces")),
    path("imports/", include("refloop.web.urls_imports")),
    path("dashboards/", include("refloop.web.urls_dashboards")),
    path("review/", include("refloop.web.urls_review")),
]
