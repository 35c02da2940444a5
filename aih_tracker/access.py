"""Authorisation helpers every view uses: role actions, and clinic scoping of patients."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest
from django.shortcuts import get_object_or_404

from aih_tracker.roles import Action
from patients.models import Patient


def require_action(action: Action) -> Callable:
    """Log-in required, then 403 unless the user's role may do `action`."""

    def decorator(view: Callable) -> Callable:
        @login_required
        @wraps(view)
        def wrapped(request: HttpRequest, *args, **kwargs):
            if not request.user.can(action):
                raise PermissionDenied(f"Your role may not {action.label.lower()}.")
            return view(request, *args, **kwargs)

        return wrapped

    return decorator


def patients_for_user(user):
    patients = Patient.objects.all()
    return patients if user.is_superuser else patients.filter(clinic_id=user.clinic_id)


def get_patient_for_user(request: HttpRequest, pk: int):
    """The patient, or 404 if it belongs to another clinic (no hint that it exists)."""
    return get_object_or_404(patients_for_user(request.user), pk=pk)
