"""The reader splits only what a handler reads; every value it reads is the one python-hl7's
full parse gives (extract_field's rules, escapes, repetitions), on every conformance file."""

import hl7
import pytest

from refloop.interop.hl7v2.parsing import Reader, message_parse, text_of
from tests.hl7v2.conftest import DATA

ESCAPED = (
    b"MSH|^~\\&|A|B|C|D|20240101||REF^I12|X1|P|2.5\r"
    b"PID|1||123^^^H^MR~456^^^S^SS||D\\E\\F\\E\\oe^J\\S\\ohn&x^^^Dr||19700101|F|||"
    b"1 Main&Elm&5^Apt 2^Town^CA^90210||^^^^^555^1234567|EN^English\r"
    b'NTE|||line\\.br\\two \\X41\\|""\r'
)
OTHER_SEPARATORS = b"MSH|#~^\\@|A|B|C|D|20240101||REF#I12|X2|P|2.5\rPID|1||a^b#c@d^e~f\r"


def _full_parse_value(message, segment, field, component, sub, rep) -> str:
    """python-hl7's full parse: extract_field's value (unescaped once), stripped."""
    try:
        value = segment.extract_field(1, field, rep, component, sub)
    except (IndexError, KeyError):
        return ""
    return str(value).strip() if value else ""


@pytest.mark.parametrize(
    "raw",
    [pytest.param(p.read_bytes(), id=p.name) for p in sorted(DATA.glob("*.hl7"))]
    + [pytest.param(ESCAPED, id="escapes"), pytest.param(OTHER_SEPARATORS, id="separators")],
)
def test_it_reads_every_value_as_python_hl7_does(raw):
    text = text_of(raw)
    full = hl7.parse(text)
    reader = Reader(message_parse(text))
    names = {str(segment[0]) for segment in full}
    for name in names:
        theirs, ours = list(full.segments(name)), reader.segments(name)
        assert len(theirs) == len(ours)
        for full_segment, segment in zip(theirs, ours, strict=True):
            for field in range(1, 26):
                present = len(full_segment) > field
                repeated = str(full_segment(field)).count(full.separators[2]) if present else -1
                assert reader.repetitions(segment, field) == repeated + 1
                for component in range(1, 6):
                    for sub in (1, 2):
                        for rep in (1, 2):
                            expected = _full_parse_value(
                                full, full_segment, field, component, sub, rep
                            )
                            got = reader.raw_value(segment, field, component, sub, rep)
                            assert got == expected, (name, field, component, sub, rep)


def test_it_unescapes_a_value_once():
    """\\E\\ is the escape character itself: "D\\E\\F\\E\\oe" is the text "D\\F\\oe", not "D|oe"."""
    reader = Reader(message_parse(text_of(ESCAPED)))
    assert reader.get("PID", 5) == "D\\F\\oe"
    assert reader.get("PID", 5, 2) == "J^ohn"
