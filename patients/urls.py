from django.urls import path

from patients import views, views_intake, views_visit

app_name = "patients"
urlpatterns = [
    path("", views.patient_list, name="list"),
    path("<int:pk>/", views.patient_detail, name="detail"),
    path("<int:pk>/clinic-summary/", views.clinic_summary, name="clinic_summary"),
    # Clinic staff: registration and the visit log
    path("new/", views_intake.patient_register, name="register"),
    path("new/rows/<slug:prefix>/", views_intake.intake_row, name="intake_row"),
    path("<int:pk>/edit/", views_intake.patient_edit, name="edit"),
    path("<int:pk>/visits/new/", views_visit.visit_new, name="visit_new"),
    path("<int:pk>/visits/new/lab-row/", views_visit.visit_lab_row, name="visit_lab_row"),
    path("<int:pk>/visits/new/add-lab/", views_visit.visit_add_lab, name="visit_add_lab"),
    path("<int:pk>/visits/new/add-event/", views_visit.visit_add_event, name="visit_add_event"),
    path("<int:pk>/visits/new/medicines/", views_visit.visit_medicines, name="visit_medicines"),
]
