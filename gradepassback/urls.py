from django.urls import path

from gradepassback import views

app_name = "gradepassback"
urlpatterns = [
    path(
        "api/passback/<slug:slug>/courses/<path:sis_course_id>",
        views.course_passback_trigger,
        name="course-trigger",
    ),
]
