from django.urls import path

from regimens import views

app_name = "regimens"
urlpatterns = [
    path("", views.regimen, name="regimen"),
    path("start/", views.start_course, name="start"),
    path("<int:course_pk>/dose/", views.change_dose, name="change_dose"),
    path("<int:course_pk>/stop/", views.stop_course, name="stop"),
    path("<int:course_pk>/switch/", views.switch_course, name="switch"),
    path("<int:course_pk>/taper/", views.taper_plan, name="taper"),
]
