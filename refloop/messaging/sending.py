"""Sending one queued message through its channel's backend (to be completed: TCPA, backends)."""


def message_send(*, message_id: int) -> str:
    """Placeholder until the channel backends land: leaves the message queued."""
    return "queued"
