"""The admin panel: no password form, and each tenant's admins see only their own."""

from typing import Any

import pytest
from django.core import mail
from django.test import Client

from accounts.models import AccountState, Role, Tenant, User
from tests.people import Person, make_person, signup_payload

pytestmark = pytest.mark.django_db(transaction=True)


def logged_in(person: Person) -> Client:
    client = Client()
    client.force_login(person.user, backend="accounts.backends.TenantBackend")
    return client


def test_the_admin_login_page_sends_people_to_the_apps_login(client: Client, acme: Tenant) -> None:
    response = client.get("/admin/", HTTP_HOST="acme.localhost")
    assert response.status_code == 302
    login = client.get(response["Location"], HTTP_HOST="acme.localhost")
    assert login.status_code == 302
    assert login["Location"] == "/login?next=%2Fadmin%2F"
    # Nothing on the admin side ever asks for a password.
    assert b"password" not in client.get("/admin/login/", HTTP_HOST="acme.localhost").content


def test_admins_see_only_their_tenants_people(acme: Tenant, lear: Tenant) -> None:
    acme_admin = make_person(acme, "wile", role=Role.ADMIN)
    make_person(acme, "roadrunner")
    make_person(lear, "edmund")
    page = logged_in(acme_admin).get("/admin/accounts/user/", HTTP_HOST="acme.localhost")
    assert page.status_code == 200
    html = page.content.decode()
    assert "roadrunner" in html
    assert "edmund" not in html
    # An object of the other tenant is simply not there.
    edmund = User.objects.get(username="edmund")
    other = logged_in(acme_admin).get(
        f"/admin/accounts/user/{edmund.pk}/change/", HTTP_HOST="acme.localhost"
    )
    assert other.status_code in {302, 404}
    assert "edmund" not in other.content.decode()


def test_members_and_other_tenants_admins_get_no_admin_panel(acme: Tenant, lear: Tenant) -> None:
    member = make_person(acme, "pleb")
    assert logged_in(member).get("/admin/", HTTP_HOST="acme.localhost").status_code == 302
    lear_admin = make_person(lear, "goneril", role=Role.ADMIN)
    # Lear's admin session is refused at acme's host (and logged out there).
    assert logged_in(lear_admin).get("/admin/", HTTP_HOST="acme.localhost").status_code == 302


def test_an_admin_approves_and_rejects_signup_requests(lear: Tenant) -> None:
    admin_person = make_person(lear, "cordelia", role=Role.ADMIN)
    for name in ("kent", "oswald"):
        body = signup_payload("lear", name, email=f"{name}@lear.example").body
        Client().post(
            "/api/auth/signup",
            data=body,
            content_type="application/json",
            HTTP_HOST="lear.localhost",
        )
    kent = User.objects.get(username="kent")
    oswald = User.objects.get(username="oswald")
    admin_client = logged_in(admin_person)
    listing = admin_client.get("/admin/accounts/signuprequest/", HTTP_HOST="lear.localhost")
    assert "kent" in listing.content.decode()
    assert "oswald" in listing.content.decode()

    def act(action: str, user: User) -> Any:
        return admin_client.post(
            "/admin/accounts/signuprequest/",
            {"action": action, "_selected_action": [str(user.pk)]},
            HTTP_HOST="lear.localhost",
        )

    assert act("approve_signups", kent).status_code == 302
    assert act("reject_signups", oswald).status_code == 302
    assert User.objects.get(pk=kent.pk).state == AccountState.ACTIVE
    assert User.objects.get(pk=oswald.pk).state == AccountState.REJECTED
    assert User.objects.get(pk=kent.pk).decided_by == admin_person.user
    subjects = {message.to[0]: message.subject for message in mail.outbox}
    assert "You can now use Lear & Co" in subjects["kent@lear.example"]
    assert "Your request to join Lear & Co" in subjects["oswald@lear.example"]


def test_the_admin_has_no_password_form_of_its_own(acme: Tenant) -> None:
    admin_person = make_person(acme, "wile", role=Role.ADMIN)
    response = logged_in(admin_person).get("/admin/password_change/", HTTP_HOST="acme.localhost")
    assert response.status_code == 302
    assert response["Location"] == "/app"
