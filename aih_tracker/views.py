from django.db import connection
from django.http import HttpRequest, JsonResponse
from django.utils import timezone
from django.views.decorators.http import require_GET

from aih_tracker.models import Heartbeat


@require_GET
def health(request: HttpRequest) -> JsonResponse:
    """Liveness for load balancers and compose healthchecks: database reachable, last Celery heartbeat."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        database_ok = True
    except Exception:  # noqa: BLE001 - any database failure means "not healthy"
        database_ok = False
    beat = Heartbeat.objects.filter(name="celery").first() if database_ok else None
    age = (timezone.now() - beat.beat_at).total_seconds() if beat else None
    return JsonResponse(
        {"database": database_ok, "celery_heartbeat_age_seconds": age},
        status=200 if database_ok else 503,
    )
