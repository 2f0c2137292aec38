"""The one place a DomainError becomes an HTTP response (HOUSE RULE: never a 500 for one).

The middleware catches what a view lets through and shows the message with the error's status.
A view that wants the error shown on its own page (a form kept as typed, the referral page
reloaded after a conflict) calls `domain_error_render` instead, which uses the same status.
"""

import logging

from django.shortcuts import render

from refloop.core.errors import Conflict, DomainError

logger = logging.getLogger(__name__)

CONFLICT_MESSAGE = (
    "Someone else changed this referral while you were looking at it. "
    "Here it is as it is now: check it, then try again."
)


def domain_error_message(error: DomainError) -> str:
    # A conflict that says what happened (a slot just taken) keeps its own words.
    generic = isinstance(error, Conflict) and error.code == Conflict.code
    return CONFLICT_MESSAGE if generic else error.message


def domain_error_render(request, error: DomainError, template: str, context: dict):
    # Codes only in the log: the message may quote what a user typed.
    logger.info("domain error %s (%s) on %s", error.code, error.status, request.path)
    context = {
        **context,
        "domain_error": domain_error_message(error),
        "domain_error_code": error.code,
    }
    return render(request, template, context, status=error.status)


class DomainErrorMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if isinstance(exception, DomainError):
            return domain_error_render(request, exception, "web/error.html", {})
        return None
