"""The quarantine review page: what could not be imported, why, and the fix (map a code, pick the
patient, reprocess). Thin: parse -> authorise -> call monitoring.interop.quarantine -> render."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from aih_tracker.access import patients_for_user, require_action
from aih_tracker.roles import Action
from monitoring.interop import quarantine
from monitoring.models import Analyte, InboundMessage, InboundStatus, LocalCode

PER_PAGE = 25


def _message_for_user(request: HttpRequest, pk: int) -> InboundMessage:
    """The message, or 404 if it belongs to another clinic."""
    return get_object_or_404(InboundMessage.objects.for_user(request.user).select_related("patient"), pk=pk)


@require_action(Action.LOG_VISITS)
def quarantine_list(request: HttpRequest) -> HttpResponse:
    queued = InboundMessage.objects.for_user(request.user).quarantined().order_by("-received_at", "-pk")
    page = Paginator(queued, PER_PAGE).get_page(request.GET.get("page"))
    return render(request, "monitoring/quarantine_list.html", {"page": page})


@require_action(Action.LOG_VISITS)
def quarantine_detail(request: HttpRequest, pk: int) -> HttpResponse:
    message = _message_for_user(request, pk)
    return render(request, "monitoring/quarantine_detail.html", _detail_context(request, message))


def _detail_context(request: HttpRequest, message: InboundMessage, **extra) -> dict:
    codes = {}
    for item in message.items:
        if item.get("kind") == quarantine.ProblemKind.UNKNOWN_CODE and item.get("code"):
            codes.setdefault((item.get("system", ""), item["code"]), item)
    mapped = {
        (local.system, local.code): local
        for local in LocalCode.objects.filter(clinic=message.clinic, code__in=[code for _, code in codes])
    }
    return {
        "message": message,
        "unknown_codes": [(item, mapped.get(key)) for key, item in codes.items()],
        "needs_patient": any(item.get("kind") == quarantine.ProblemKind.UNKNOWN_PATIENT for item in message.items),
        "analytes": Analyte.objects.order_by("name"),
        "duplicates": message.duplicates.count(),
        "can_act": message.status == InboundStatus.QUARANTINED,
        **extra,
    }


@require_POST
@require_action(Action.LOG_VISITS)
def map_code(request: HttpRequest, pk: int) -> HttpResponse:
    message = _message_for_user(request, pk)
    choice = request.POST.get("analyte", "")
    analyte = None if choice == "skip" else Analyte.objects.filter(pk=choice).first() if choice.isdigit() else None
    if analyte is None and choice != "skip":
        messages.error(request, "Choose an analyte, or choose to skip the code.")
        return redirect("monitoring:quarantine_detail", pk=message.pk)
    try:
        local = quarantine.map_local_code(
            clinic=message.clinic,
            system=request.POST.get("system", ""),
            code=request.POST.get("code", ""),
            analyte=analyte,
            unit=request.POST.get("unit", ""),
            display=request.POST.get("display", ""),
            user=request.user,
        )
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, f"Mapped {local}. Reprocess the message when every problem is fixed.")
    return redirect("monitoring:quarantine_detail", pk=message.pk)


@require_POST
@require_action(Action.LOG_VISITS)
def pick_patient(request: HttpRequest, pk: int) -> HttpResponse:
    message = _message_for_user(request, pk)
    mrn = request.POST.get("mrn", "").strip()
    patient = patients_for_user(request.user).filter(clinic=message.clinic, mrn=mrn).first() if mrn else None
    if patient is None:
        messages.error(request, f"No patient with MRN {mrn or '(empty)'} in this clinic.")
    else:
        quarantine.assign_patient(message=message, patient=patient, user=request.user)
        messages.success(request, f"The message is now for {patient.family_name}, {patient.given_name} (MRN {mrn}).")
    return redirect("monitoring:quarantine_detail", pk=message.pk)


@require_POST
@require_action(Action.LOG_VISITS)
def reprocess(request: HttpRequest, pk: int) -> HttpResponse:
    message = quarantine.reprocess(_message_for_user(request, pk), user=request.user)
    if message.status == InboundStatus.QUARANTINED:
        messages.error(request, f"Still quarantined: {message.reason}")
        return redirect("monitoring:quarantine_detail", pk=message.pk)
    counts = ", ".join(f"{count} {name}" for name, count in message.counts.items()) or "nothing new"
    messages.success(request, f"Message #{message.pk} imported: {counts}.")
    return redirect("monitoring:quarantine")
