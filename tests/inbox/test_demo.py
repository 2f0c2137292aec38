"""The demo hook posts a signed fax to the real webhook and files one part."""

from refloop.inbox.demo import demo_receive
from refloop.inbox.models import InboxDocument, InboxStatus
from refloop.referrals.enums import Channel
from refloop.referrals.models import Referral


def test_it_receives_a_fax_files_one_part_and_leaves_one_waiting(intake, line, settings):
    settings.PHAXIO_CALLBACK_TOKEN = "the-live-token"  # the demo signs with its own token
    summary = demo_receive()
    document = InboxDocument.objects.get()
    referral = Referral.objects.get()
    assert summary.startswith(f"inbox: fax {document.pk} (3 pages)") and referral.number in summary
    assert document.status == InboxStatus.PARTLY_FILED and document.page_count == 3
    assert referral.channel == Channel.FAX and referral.documents.count() == 1
    assert [part.is_filed for part in document.parts.all()] == [True, False]
