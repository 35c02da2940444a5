from django.urls import path

from monitoring.alerts import views
from monitoring.interop import import_views, quarantine_views

app_name = "monitoring"
urlpatterns = [
    path("alerts/", views.alert_queue, name="alerts"),
    path("alerts/bulk/", views.bulk, name="alert_bulk"),
    path("alerts/badge/", views.alert_badge, name="alert_badge"),
    path("alerts/<int:pk>/", views.alert_detail, name="alert_detail"),
    path("alerts/<int:pk>/acknowledge/", views.acknowledge, name="alert_acknowledge"),
    path("alerts/<int:pk>/assign/", views.assign, name="alert_assign"),
    path("alerts/<int:pk>/snooze/", views.snooze, name="alert_snooze"),
    path("alerts/<int:pk>/resolve/", views.resolve, name="alert_resolve"),
]
urlpatterns += [
    path("recall/", views.recall, name="recall"),
    path("recall/export.csv", views.recall_export, name="recall_export"),
    path("recall/<int:pk>/contact/", views.recall_contact, name="recall_contact"),
    path("dashboard/", views.dashboard, name="dashboard"),
    path("dashboard/cohort/<slug:key>/", views.dashboard_cohort, name="dashboard_cohort"),
]
urlpatterns += [
    path("imports/", import_views.bulk_import, name="bulk_import"),
    path("imports/<slug:batch_id>/", import_views.import_batch, name="import_batch"),
    path("patients/<int:pk>/fhir.json", import_views.patient_fhir, name="patient_fhir"),
]
urlpatterns += [
    path("quarantine/", quarantine_views.quarantine_list, name="quarantine"),
    path("quarantine/<int:pk>/", quarantine_views.quarantine_detail, name="quarantine_detail"),
    path("quarantine/<int:pk>/map-code/", quarantine_views.map_code, name="quarantine_map"),
    path("quarantine/<int:pk>/patient/", quarantine_views.pick_patient, name="quarantine_patient"),
    path("quarantine/<int:pk>/reprocess/", quarantine_views.reprocess, name="quarantine_reprocess"),
]
