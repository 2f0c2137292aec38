from django.urls import path

from refloop.interop import sms_hooks as views
from refloop.interop.fax_hooks import fax_inbound

urlpatterns = [
    path("sms/twilio/inbound/", views.twilio_inbound, name="sms_twilio_inbound"),
    path("sms/twilio/status/", views.twilio_status, name="sms_twilio_status"),
    path("fax/<slug:provider>/", fax_inbound, name="fax_inbound"),
]
