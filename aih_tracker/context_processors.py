from .roles import Action


def roles(request):
    """Expose `can.<action>` to templates so navigation shows only what the user may do."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"can": {}}
    return {"can": {action.value: user.can(action) for action in Action}}
