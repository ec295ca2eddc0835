from django.urls import path

from frontend.views import shell

# The web client routes these paths itself; the server sends the same shell.
CLIENT_ROUTES = [
    "",
    "login",
    "signup",
    "confirm",
    "recover",
    "app",
    "app/members",
    "app/audit",
    "app/requests",
    "app/rooms",
]

urlpatterns = [path(route, shell, name=f"shell-{route or 'root'}") for route in CLIENT_ROUTES]
