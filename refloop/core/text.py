"""Text as PostgreSQL can store it: no NUL character, in text or in JSON."""

NUL = "\x00"
NUL_SHOWN = "\u2400"  # SYMBOL FOR NULL


def nul_shown(value: str) -> str:
    """The text with each NUL kept visible as NUL_SHOWN, so that what a sender gave can still be
    stored and shown (and refused by name) instead of failing the write that would keep it."""
    return value.replace(NUL, NUL_SHOWN) if NUL in value else value
