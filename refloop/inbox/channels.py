"""E-mail and drop-folder intake: read what waits, keep it, and only then let it go.

A message is marked seen (or moved) and a file moved to done/ only after the documents made from
it are committed. A process that dies in between reads it again next time, and the provider id
(the message's Message-ID, the file's name and SHA-1) finds the documents it already made: nothing
is lost, nothing kept twice.
"""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import email.utils
import hashlib
import imaplib
import logging
import time
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.utils import timezone

from refloop.inbox.models import Source
from refloop.inbox.services import Arrival, inbox_document_receive

log = logging.getLogger(__name__)

# Kinds of attachment worth a document; anything else attached is kept too, with an error.
SKIPPED_PARTS = {"text/plain", "text/html", "multipart/alternative"}
# A file younger than this may still be being written by the scanner or fax server.
SETTLE_SECONDS = 5


# E-mail ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Mailbox:
    host: str
    port: int
    user: str
    password: str
    folder: str = "INBOX"
    ssl: bool = True
    done_folder: str = ""

    @classmethod
    def from_settings(cls) -> Mailbox | None:
        if not settings.REFLOOP_INBOX_IMAP_HOST:
            return None
        return cls(
            host=settings.REFLOOP_INBOX_IMAP_HOST,
            port=settings.REFLOOP_INBOX_IMAP_PORT,
            user=settings.REFLOOP_INBOX_IMAP_USER,
            password=settings.REFLOOP_INBOX_IMAP_PASSWORD,
            folder=settings.REFLOOP_INBOX_IMAP_FOLDER,
            ssl=settings.REFLOOP_INBOX_IMAP_SSL,
            done_folder=settings.REFLOOP_INBOX_IMAP_DONE_FOLDER,
        )


def message_arrivals(raw: bytes, *, fallback_id: str, recipient: str = "") -> list[Arrival]:
    """Each attachment of one message as an Arrival. A message with none is kept whole (the
    .eml), with an error saying so: a sender may have pasted the referral into the body."""
    message = email.message_from_bytes(raw, policy=email.policy.default)
    message_id = (message.get("Message-ID") or "").strip() or fallback_id
    if len(message_id) > 150:
        message_id = hashlib.sha1(message_id.encode()).hexdigest()
    # The key also names the bytes: the same message read twice is one delivery, but another
    # message reusing a Message-ID (a sender's bug, a forward, anyone) is kept, not dropped.
    key = f"{message_id}:{hashlib.sha1(raw).hexdigest()[:16]}"
    sender = email.utils.parseaddr(str(message.get("From", "")))[1]
    received_at = _message_date(message)
    common = dict(
        source=Source.EMAIL,
        provider="imap",
        sender=sender,
        recipient=recipient,
        received_at=received_at,
        # No subject or body here: they may name the patient, and `raw` is shown to staff on
        # pages that do not write the access log for a patient.
        raw={"message_id": message_id},
    )
    arrivals = []
    for index, part in enumerate(message.iter_attachments(), start=1):
        content = part.get_payload(decode=True)
        filename = part.get_filename() or f"attachment-{index}"
        if content is None:
            # An attached e-mail (a forwarded referral) has no single payload: kept whole, as
            # an .eml, rather than as an empty file with the referral in it lost.
            inner = part.get_content() if part.get_content_type() == "message/rfc822" else part
            content = inner.as_bytes()
            filename = part.get_filename() or f"attachment-{index}.eml"
        arrivals.append(
            Arrival(provider_id=f"{key}#{index}", filename=filename, content=content, **common)
        )
    if not arrivals:
        arrivals.append(
            Arrival(
                provider_id=f"{key}#0",
                filename="message.eml",
                content=raw,
                error="The e-mail has no attachment; the message is kept as it came.",
                **common,
            )
        )
    return arrivals


def _message_date(message):
    try:
        parsed = email.utils.parsedate_to_datetime(str(message.get("Date", "")))
    except (TypeError, ValueError):
        return None
    if parsed is None or parsed.tzinfo is None:
        return None
    # A sender's clock may be wrong; never later than now.
    return min(parsed, timezone.now())


def imap_poll(mailbox: Mailbox, *, limit: int = 50) -> int:
    """Read up to `limit` unseen messages; returns how many were kept and let go."""
    connect = imaplib.IMAP4_SSL if mailbox.ssl else imaplib.IMAP4
    handled = 0
    with connect(mailbox.host, mailbox.port) as imap:
        imap.login(mailbox.user, mailbox.password)
        imap.select(mailbox.folder)
        status, data = imap.uid("SEARCH", None, "UNSEEN")
        if status != "OK":
            raise imaplib.IMAP4.error(f"SEARCH failed: {status}")
        uids = data[0].split()[:limit]
        for uid in uids:
            # BODY.PEEK: reading does not mark it seen; only a commit does (below).
            status, fetched = imap.uid("FETCH", uid, "(BODY.PEEK[])")
            if status != "OK" or not fetched or not isinstance(fetched[0], tuple):
                log.warning("imap message uid %s could not be fetched", uid.decode())
                continue
            raw = fetched[0][1]
            fallback = f"{mailbox.user}@{mailbox.host}/{mailbox.folder}/{uid.decode()}"
            for arrival in message_arrivals(raw, fallback_id=fallback, recipient=mailbox.user):
                inbox_document_receive(arrival=arrival)  # commits
            _let_go(imap, uid, mailbox)
            handled += 1
        imap.close()
        imap.logout()
    return handled


def _let_go(imap, uid: bytes, mailbox: Mailbox) -> None:
    if mailbox.done_folder:
        status, _ = imap.uid("COPY", uid, mailbox.done_folder)
        if status == "OK":
            imap.uid("STORE", uid, "+FLAGS", r"(\Deleted \Seen)")
            imap.expunge()
            return
        log.warning("imap COPY to the done folder failed; message marked seen instead")
    imap.uid("STORE", uid, "+FLAGS", r"(\Seen)")


# Drop folder ----------------------------------------------------------------------------------


def drop_folder_poll(folder: Path, *, settle_seconds: float = SETTLE_SECONDS) -> int:
    """Keep every settled file in `folder`, then move it to `folder`/done."""
    done = folder / "done"
    done.mkdir(parents=True, exist_ok=True)
    handled = 0
    now = time.time()
    for path in sorted(folder.iterdir()):
        if not path.is_file() or path.name.startswith(".") or path.suffix in {".part", ".tmp"}:
            continue
        stat = path.stat()
        if now - stat.st_mtime < settle_seconds:
            continue
        content = path.read_bytes()
        modified = dt.datetime.fromtimestamp(stat.st_mtime, tz=dt.UTC)
        inbox_document_receive(
            arrival=Arrival(
                source=Source.FOLDER,
                provider="folder",
                # The same file read twice (a crash before the move) is one document; another
                # file with the same name is another.
                provider_id=f"{path.name[:100]}:{hashlib.sha1(content).hexdigest()}",
                filename=path.name,
                content=content,
                received_at=min(modified, timezone.now()),
            )
        )
        path.rename(_free_name(done / path.name))
        handled += 1
    return handled


def _free_name(target: Path) -> Path:
    candidate, n = target, 1
    while candidate.exists():
        candidate = target.with_name(f"{target.stem}-{n}{target.suffix}")
        n += 1
    return candidate
