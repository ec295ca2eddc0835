from django.urls import path

from files import api

urlpatterns = [
    path("files/<str:file_id>", api.FileView.as_view()),
]
