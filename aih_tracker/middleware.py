"""Project middleware."""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.utils.cache import add_never_cache_headers


class NoStoreForSignedInUsers:
    """Every response to a signed-in user says `Cache-Control: no-store` (and private, max-age=0).

    Pages, htmx fragments, CSV and FHIR downloads, the admin: anything a signed-in user gets may
    carry patient data, which no browser or proxy cache should keep (a shared clinic PC, the back
    button after log-out). Anonymous responses are left alone: the login page already says
    no-store (Django's LoginView is `never_cache`), `/health/` carries no patient data, and static
    files are answered by whitenoise before this middleware runs, so they stay cacheable.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            add_never_cache_headers(response)
        return response
