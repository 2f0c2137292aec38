from django.urls import path

from refloop.web.views import review

# Included at "review/" (the lead links it from the dashboards: ?month=YYYY-MM, &format=html).
urlpatterns = [
    path("monthly/", review.monthly_review, name="monthly_review"),
]
