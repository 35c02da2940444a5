from django.contrib.auth.backends import ModelBackend

from aih_tracker.roles import model_permissions_for


class RoleBackend(ModelBackend):
    """Django permissions that follow from the user's role (see roles.py), not from groups."""

    def get_all_permissions(self, user_obj, obj=None):
        if not user_obj.is_active or user_obj.is_anonymous or obj is not None:
            return set()
        if user_obj.is_superuser:
            return super().get_all_permissions(user_obj, obj)
        return set(model_permissions_for(user_obj.role))

    def has_module_perms(self, user_obj, app_label):
        return any(p.startswith(f"{app_label}.") for p in self.get_all_permissions(user_obj))
