"""Project middleware."""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest
from django.utils import timezone
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


class RefuseNullCharacters:
    """A request whose query string or form carries a NUL character gets 400, before any view reads it.

    No browser sends one; PostgreSQL cannot store or even compare one (a search for it was a server
    error), and Django's form fields refuse it only where a form is used. One check here covers the
    views that read `request.GET` / `request.POST` themselves.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        for params in (request.GET, request.POST if request.method == "POST" else {}):
            if any("\x00" in key or any("\x00" in value for value in params.getlist(key)) for key in params):
                return HttpResponseBadRequest(
                    "The request contained a control character (NUL) that no form sends; nothing was saved.",
                    content_type="text/plain; charset=utf-8",
                )
        return self.get_response(request)


class ClinicTimeZone:
    """Pages show times, and "today", in the signed-in user's clinic's time zone (Django's current time zone).

    A user without a clinic (a superuser) keeps the default, settings.TIME_ZONE.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        clinic = getattr(user, "clinic", None) if user is not None and user.is_authenticated else None
        if clinic is not None:
            timezone.activate(clinic.time_zone)
        try:
            return self.get_response(request)
        finally:
            timezone.deactivate()
