"""The one domain error type. Interfaces map it to HTTP in one place (web.errors)."""


class DomainError(Exception):
    """A rule of the domain refused the request; the message is safe to show a user (no PHI)."""

    status = 400
    code = "invalid"

    def __init__(self, message: str, *, code: str | None = None):
        super().__init__(message)
        self.message = message
        if code:
            self.code = code


class NotAllowed(DomainError):
    status = 403
    code = "not_allowed"


class NotFound(DomainError):
    status = 404
    code = "not_found"


class Gone(DomainError):
    """A single-use or expiring thing that can no longer be used: a used or expired link, an
    offer someone else took."""

    status = 410
    code = "gone"


class Conflict(DomainError):
    """Someone else changed the thing first: reload and try again."""

    status = 409
    code = "conflict"
