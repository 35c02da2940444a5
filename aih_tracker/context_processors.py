from functools import partial

from aih_tracker.roles import Action
from monitoring.alerts.queue import urgent_count


def roles(request):
    """Expose `can.<action>` to templates so navigation shows only what the user may do."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"can": {}}
    return {"can": {action.value: user.can(action) for action in Action}, "alert_badge": partial(_urgent_alerts, user)}


def _urgent_alerts(user) -> int:
    """Open critical + high alerts of the user's clinic (the nav badge). Called only when rendered."""
    return urgent_count(user)
