from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from frontend.assets import entry_assets


@require_GET
def shell(request: HttpRequest) -> HttpResponse:
    """The single page the web client boots from; it holds no user data."""
    response = render(
        request,
        "frontend/shell.html",
        {
            "assets": entry_assets(),
            "tenant_name": "",
            "tenant_slug": "",
        },
    )
    response["Cache-Control"] = "no-store"
    return response
