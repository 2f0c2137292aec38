"""Reading a row's text: what the faster paths answer is what the plain ones answered."""

import datetime as dt
import random

from refloop.interop.files.rows import (
    DEFAULT_DATE_FORMATS,
    DEFAULT_DATETIME_FORMATS,
    _strptime,
)

FORMATS = (
    *DEFAULT_DATE_FORMATS,
    *DEFAULT_DATETIME_FORMATS,
    "%d/%m/%Y",
    "%Y%m%d",  # no separators: strptime's match-then-check rule decides
    "%d %m  %Y",  # a run of blanks in the format
    "%m/%d/%Y %H:%M:%S",
    "%H%M%%",
    "%d/%d/%Y",  # a directive twice: strptime's own answer (an error)
)


def _answer(parse, value, fmt):
    try:
        return parse(value, fmt)
    except ValueError:
        return "refused"
    except Exception as error:  # noqa: BLE001  (the same kind of failure is the same answer)
        return type(error).__name__


def test_it_reads_a_date_exactly_as_strptime_does():
    """Dates a file may hold, right, mangled and odd (Feb 30, single digits, padding with a
    space, Arabic-Indic digits, trailing text): the same datetime or the same refusal."""
    rng = random.Random(4)
    alphabet = "0123456789/-.: %T\u0663 "
    values = [
        "02/30/2024",
        "2/3/2024",
        " 2/ 3/2024",
        "12/31/1999 23:59",
        "12/31/1999 24:00",
        "2024-02-29",
        "2023-02-29",
        "01.12.2020x",
        "",
        "13/01/2020",
        "2024-1-5 7:05",
    ]
    for _ in range(20_000):
        fmt = rng.choice(FORMATS)
        moment = dt.datetime(
            rng.randint(1, 9999),
            rng.randint(1, 12),
            rng.randint(1, 28),
            rng.randint(0, 23),
            rng.randint(0, 59),
            rng.randint(0, 59),
        )
        value = moment.strftime(fmt) if "%d/%d" not in fmt else moment.strftime("%d/%m/%Y")
        if rng.random() < 0.5:
            chars = list(value)
            for _ in range(rng.randint(1, 3)):
                if chars:
                    chars[rng.randrange(len(chars))] = rng.choice(alphabet)
            value = "".join(chars)
        values.append(value)
    for value in values:
        for fmt in FORMATS:
            assert _answer(_strptime, value, fmt) == _answer(dt.datetime.strptime, value, fmt), (
                value,
                fmt,
            )
