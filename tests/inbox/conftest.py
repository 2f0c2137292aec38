import io
import shutil

import pytest
from PIL import Image, ImageDraw

from refloop.inbox.demo import fax_pdf
from refloop.inbox.services import Arrival, inbox_document_receive

TOKEN = "test-callback-token"


@pytest.fixture(autouse=True)
def _phaxio_token(settings):
    settings.PHAXIO_CALLBACK_TOKEN = TOKEN
    settings.REFLOOP_BASE_URL = "https://refloop.example"


def three_page_pdf() -> bytes:
    """Two patients' letters in one fax: pages 1-2 and page 3."""
    return fax_pdf()


def fax_tiff(pages: int = 2) -> bytes:
    """A multi-page fax TIFF (CCITT G4, as fax servers write them)."""
    frames = []
    for n in range(pages):
        frame = Image.new("1", (850, 1100), 1)
        ImageDraw.Draw(frame).text((60, 60), f"Synthetic fax page {n + 1}", fill=0)
        frames.append(frame)
    out = io.BytesIO()
    frames[0].save(
        out, format="TIFF", compression="group4", save_all=True, append_images=frames[1:]
    )
    return out.getvalue()


def received(content: bytes | None = None, **extra):
    arrival = Arrival(
        **{
            "source": "fax",
            "provider": "phaxio",
            "provider_id": extra.pop("provider_id", "fax-1"),
            "filename": "fax.pdf",
            "content": three_page_pdf() if content is None else content,
            "sender": "+15550104477",
            **extra,
        }
    )
    return inbox_document_receive(arrival=arrival)[0]


@pytest.fixture
def fax_document(db):
    return received()


def dovecot_missing() -> bool:
    return shutil.which("dovecot") is None
