from django.apps import AppConfig


class AihTrackerConfig(AppConfig):
    name = "aih_tracker"
    verbose_name = "Clinic and users"
