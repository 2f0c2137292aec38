"""E-mail from a real IMAP server (a throwaway Dovecot) and files from a real drop folder."""

import email.message
import email.policy
import imaplib
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

from refloop.inbox.channels import Mailbox, drop_folder_poll, imap_poll, message_arrivals
from refloop.inbox.models import InboxDocument
from refloop.inbox.services import inbox_document_receive
from tests.inbox.conftest import fax_tiff, three_page_pdf

PASSWORD = "imap-test-password"


# Drop folder ----------------------------------------------------------------------------------


@pytest.mark.django_db
def test_it_keeps_dropped_files_and_moves_them_to_done(tmp_path):
    (tmp_path / "scan-0001.pdf").write_bytes(three_page_pdf())
    (tmp_path / "scan-0002.tif").write_bytes(fax_tiff(1))
    (tmp_path / "notes.docx").write_bytes(b"PK\x03\x04 not a document we can show")
    (tmp_path / "still-writing.pdf.part").write_bytes(b"%PDF-")
    assert drop_folder_poll(tmp_path, settle_seconds=0) == 3
    documents = {d.filename: d for d in InboxDocument.objects.all()}
    assert set(documents) == {"scan-0001.pdf", "scan-0002.tif", "notes.docx"}
    assert documents["scan-0001.pdf"].page_count == 3
    assert documents["scan-0002.tif"].viewable
    assert documents["notes.docx"].error  # kept, with the reason it cannot be shown
    assert sorted(p.name for p in (tmp_path / "done").iterdir()) == [
        "notes.docx",
        "scan-0001.pdf",
        "scan-0002.tif",
    ]
    assert [p.name for p in tmp_path.iterdir() if p.is_file()] == ["still-writing.pdf.part"]


@pytest.mark.django_db
def test_it_keeps_a_file_once_if_the_move_did_not_happen(tmp_path):
    """A crash after the commit and before the move: the file is read again, kept once."""
    pdf = three_page_pdf()
    (tmp_path / "scan.pdf").write_bytes(pdf)
    drop_folder_poll(tmp_path, settle_seconds=0)
    (tmp_path / "done" / "scan.pdf").rename(tmp_path / "scan.pdf")  # as if never moved
    drop_folder_poll(tmp_path, settle_seconds=0)
    assert InboxDocument.objects.count() == 1
    # Another file of the same name is another document.
    (tmp_path / "scan.pdf").write_bytes(fax_tiff(1))
    drop_folder_poll(tmp_path, settle_seconds=0)
    assert InboxDocument.objects.count() == 2
    assert sorted(p.name for p in (tmp_path / "done").iterdir()) == ["scan-1.pdf", "scan.pdf"]


@pytest.mark.django_db
def test_it_leaves_a_file_that_may_still_be_written(tmp_path):
    (tmp_path / "fresh.pdf").write_bytes(three_page_pdf())
    assert drop_folder_poll(tmp_path, settle_seconds=60) == 0
    assert (tmp_path / "fresh.pdf").exists() and not InboxDocument.objects.exists()


# IMAP -----------------------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def dovecot():
    """A throwaway Dovecot IMAP server on a free port (Debian package dovecot-imapd), any user
    logging in with PASSWORD, mail in a temporary maildir. As root it runs its processes as the
    package's own users; otherwise as the current user."""
    binary = shutil.which("dovecot") or (
        "/usr/sbin/dovecot" if Path("/usr/sbin/dovecot").exists() else None
    )
    if binary is None:
        if os.environ.get("REFLOOP_REQUIRE_IMAP") == "1":
            pytest.fail("IMAP tests are required, but dovecot is missing (dovecot-imapd)")
        pytest.skip("no dovecot binary (apt-get install dovecot-imapd)")
    root = Path(tempfile.mkdtemp(prefix="refloop-dovecot-"))
    root.chmod(0o755)
    if os.geteuid() == 0:
        internal, login = "dovecot", "dovenull"
    else:
        internal = login = pwd.getpwuid(os.getuid()).pw_name
    (root / "mail").mkdir()
    shutil.chown(root / "mail", user=internal)
    port = _free_port()
    config = root / "dovecot.conf"
    config.write_text(
        f"""
protocols = imap
listen = 127.0.0.1
base_dir = {root}/run
state_dir = {root}/state
log_path = {root}/dovecot.log
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
first_valid_uid = 1
first_valid_gid = 1
default_internal_user = {internal}
default_internal_group = {internal}
default_login_user = {login}
mail_location = maildir:{root}/mail/%u
passdb {{
  driver = static
  args = password={PASSWORD}
}}
userdb {{
  driver = static
  args = uid={internal} gid={internal} home={root}/mail/%u
}}
service imap-login {{
  chroot =
  inet_listener imap {{
    port = {port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
service anvil {{
  chroot =
}}
"""
    )
    subprocess.run([binary, "-c", str(config)], check=True)
    try:
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.05)
        yield Mailbox(host="127.0.0.1", port=port, user="intake", password=PASSWORD, ssl=False)
    finally:
        subprocess.run(["doveadm", "-c", str(config), "stop"], check=False)
        shutil.rmtree(root, ignore_errors=True)


def _append(mailbox: Mailbox, message: email.message.EmailMessage, folder="INBOX") -> None:
    with imaplib.IMAP4(mailbox.host, mailbox.port) as imap:
        imap.login(mailbox.user, mailbox.password)
        imap.append(folder, None, None, message.as_bytes())
        imap.logout()


def _message(message_id: str, attachments=()) -> email.message.EmailMessage:
    message = email.message.EmailMessage()
    message["From"] = "Maple Family Practice <referrals@maple.example>"
    message["To"] = "intake@refloop.example"
    message["Subject"] = "Referral"
    message["Message-ID"] = message_id
    message["Date"] = "Fri, 27 Nov 2026 09:30:00 -0500"
    message.set_content("Please see the attached referral.")
    for filename, content, subtype in attachments:
        maintype, subtype = subtype.split("/")
        message.add_attachment(content, maintype=maintype, subtype=subtype, filename=filename)
    return message


def _message_id(document: InboxDocument) -> str:
    return document.provider_id.rsplit(":", 1)[0]


def _flags(mailbox: Mailbox, folder="INBOX") -> list[bytes]:
    with imaplib.IMAP4(mailbox.host, mailbox.port) as imap:
        imap.login(mailbox.user, mailbox.password)
        imap.select(folder, readonly=True)
        _, data = imap.fetch("1:*", "(FLAGS)")
        imap.logout()
    return [line for line in data if line]


@pytest.mark.django_db(transaction=True)
def test_it_reads_each_attachment_of_a_message_then_marks_it_seen(dovecot):
    _append(
        dovecot,
        _message(
            "<ref-1@maple.example>",
            [
                ("letter.pdf", three_page_pdf(), "application/pdf"),
                ("fax.tif", fax_tiff(2), "image/tiff"),
            ],
        ),
    )
    _append(dovecot, _message("<ref-2@maple.example>"))  # no attachment
    assert imap_poll(dovecot) == 2
    documents = list(InboxDocument.objects.order_by("provider_id"))
    assert [(_message_id(d), d.provider_id[-2:], d.page_count) for d in documents] == [
        ("<ref-1@maple.example>", "#1", 3),
        ("<ref-1@maple.example>", "#2", 2),
        ("<ref-2@maple.example>", "#0", 0),
    ]
    assert all(d.source == "email" and d.sender == "referrals@maple.example" for d in documents)
    assert "no attachment" in documents[2].error and documents[2].original
    assert all(b"\\Seen" in line for line in _flags(dovecot))
    assert imap_poll(dovecot) == 0  # nothing unseen left


@pytest.mark.django_db(transaction=True)
def test_it_keeps_a_message_once_when_marking_it_seen_never_happened(dovecot, monkeypatch):
    """A crash after the commit and before the flag: read again next time, kept once."""
    _append(
        dovecot, _message("<ref-3@maple.example>", [("a.pdf", three_page_pdf(), "application/pdf")])
    )
    import refloop.inbox.channels as channels

    def crash(*args):
        raise OSError("killed before marking the message seen")

    monkeypatch.setattr(channels, "_let_go", crash)
    with pytest.raises(OSError):
        imap_poll(dovecot)
    assert InboxDocument.objects.count() == 1
    assert not any(b"\\Seen" in line for line in _flags(dovecot))
    monkeypatch.undo()
    assert imap_poll(dovecot) == 1
    assert InboxDocument.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_it_moves_a_message_to_the_done_folder_when_told(dovecot):
    mailbox = Mailbox(**{**dovecot.__dict__, "done_folder": "Filed"})
    with imaplib.IMAP4(mailbox.host, mailbox.port) as imap:
        imap.login(mailbox.user, mailbox.password)
        imap.create("Filed")
        imap.logout()
    _append(
        mailbox, _message("<ref-4@maple.example>", [("a.pdf", three_page_pdf(), "application/pdf")])
    )
    assert imap_poll(mailbox) == 1
    with imaplib.IMAP4(mailbox.host, mailbox.port) as imap:
        imap.login(mailbox.user, mailbox.password)
        assert imap.select("INBOX", readonly=True)[1] == [b"0"]
        assert imap.select("Filed", readonly=True)[1] == [b"1"]
        imap.logout()


@pytest.mark.django_db(transaction=True)
def test_it_keeps_another_message_that_reuses_a_message_id(dovecot):
    """Message-IDs are the sender's to choose: a second, different message under one already
    read is another referral, not a resend to drop (the first stays as it was)."""
    pdf = ("a.pdf", three_page_pdf(), "application/pdf")
    _append(dovecot, _message("<same@maple.example>", [pdf]))
    assert imap_poll(dovecot) == 1
    _append(dovecot, _message("<same@maple.example>", [("b.tif", fax_tiff(2), "image/tiff")]))
    assert imap_poll(dovecot) == 1
    documents = list(InboxDocument.objects.order_by("pk"))
    assert [(d.filename, d.page_count) for d in documents] == [("a.pdf", 3), ("b.tif", 2)]


@pytest.mark.django_db
def test_it_keeps_a_forwarded_email_attached_to_a_message_whole():
    """A referral forwarded as an attachment (message/rfc822) has no payload of its own to
    decode: it is kept as the .eml it is, its PDF inside, not as an empty file."""
    pdf_bytes = three_page_pdf()
    forwarded = _message("<inner@maple.example>", [("ref.pdf", pdf_bytes, "application/pdf")])
    outer = _message("<outer@maple.example>")
    outer.add_attachment(forwarded)
    [arrival] = message_arrivals(outer.as_bytes(), fallback_id="x")
    document, _ = inbox_document_receive(arrival=arrival)
    assert document.size > 0 and document.filename == "attachment-1.eml"
    with document.original.open("rb") as handle:
        kept = email.message_from_bytes(handle.read(), policy=email.policy.default)
    [pdf] = kept.iter_attachments()
    assert pdf.get_filename() == "ref.pdf" and pdf.get_content() == pdf_bytes


@pytest.mark.django_db
def test_it_keeps_an_email_with_nul_characters_in_its_headers():
    """PostgreSQL stores no NUL: such a message failed its write, and the mailbox stopped at it
    on every poll."""
    raw = _message("<a\x00b@maple.example>", [("re\x00f.pdf", three_page_pdf(), "application/pdf")])
    raw.replace_header("From", "ref\x00errals@maple.example")
    [arrival] = message_arrivals(raw.as_bytes(), fallback_id="x")
    document, created = inbox_document_receive(arrival=arrival)
    assert created and document.page_count == 3
    assert document.sender == "ref\u2400errals@maple.example"
    assert document.filename == "re\u2400f.pdf"
    assert document.raw == {"message_id": "<a\u2400b@maple.example>"}
    assert inbox_document_receive(arrival=arrival) == (document, False)  # read twice: one
