from django.urls import path

from refloop.web.views import dashboards

urlpatterns = [
    path("", dashboards.program, name="dashboards"),
    path("line/<slug:code>/", dashboards.line, name="dashboard_line"),
    path("referrers/", dashboards.referrers, name="dashboard_referrers"),
    path("drill/", dashboards.drill, name="dashboard_drill"),
]
