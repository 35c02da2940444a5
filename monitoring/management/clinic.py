"""The --clinic option the import, export and listener commands share."""

from __future__ import annotations

from django.core.management.base import CommandError

from aih_tracker.models import Clinic


def clinic_from_slug(slug: str | None) -> Clinic:
    """The clinic named by --clinic, or the default clinic when none is given."""
    if not slug:
        return Clinic.default()
    try:
        return Clinic.objects.get(slug=slug)
    except Clinic.DoesNotExist:
        raise CommandError(f"No clinic '{slug}'.") from None
