from django.urls import path

from frontend.views import shell

urlpatterns = [
    path("", shell, name="shell"),
]
