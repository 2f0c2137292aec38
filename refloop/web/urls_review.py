from django.urls import path

from refloop.web.views import review

# Mounted at "review/" and linked from the dashboards (?month=YYYY-MM, &format=html).
urlpatterns = [
    path("monthly/", review.monthly_review, name="monthly_review"),
]
