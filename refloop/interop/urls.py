from django.urls import path

from refloop.interop import sms_hooks as views

urlpatterns = [
    path("sms/twilio/inbound/", views.twilio_inbound, name="sms_twilio_inbound"),
    path("sms/twilio/status/", views.twilio_status, name="sms_twilio_status"),
]
