from django.urls import path

from refloop.messaging import views

urlpatterns = [
    path("sms/twilio/inbound/", views.twilio_inbound, name="sms_twilio_inbound"),
    path("sms/twilio/status/", views.twilio_status, name="sms_twilio_status"),
]
