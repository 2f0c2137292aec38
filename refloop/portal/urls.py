from django.urls import path

from refloop.portal import views

urlpatterns = [
    path("<str:token>/", views.patient_link, name="patient_link"),
]
