"""The portal's demo hook on the demo data: an office account and one e-referral through the
public form, which the office then sees in its portal."""

from django.urls import reverse

from refloop.demo.loader import demo_load
from refloop.demo.logins import DEMO_PASSWORD
from refloop.portal.demo import OFFICE_USERNAME
from refloop.referrals.enums import BlockerKind, Channel
from refloop.referrals.models import Referral


def test_it_receives_an_e_referral_for_the_demo_office(db, client):
    demo = demo_load(scale=0.02)  # its arrivals by every way in include the portal's

    summary = next(line for line in demo.channels if line.startswith("portal:"))

    referral = Referral.objects.get(channel=Channel.PORTAL, sender_system="refloop-portal")
    assert summary.startswith("portal: e-referral ") and referral.number in summary
    assert referral.documents.filter(content_type="application/pdf").exists()
    assert referral.blockers.filter(kind=BlockerKind.REFERRER_NOT_VERIFIED).exists()
    signed_in = client.post(
        reverse("office_login"), {"username": OFFICE_USERNAME, "password": DEMO_PASSWORD}
    )
    assert signed_in.status_code == 302
    assert referral.number in client.get(reverse("office_home")).content.decode()
