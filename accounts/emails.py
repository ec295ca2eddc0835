"""The emails accounts send. They carry links and names, never keys or secrets
other than a single-use confirmation token."""

from django.conf import settings
from django.core.mail import send_mail

from accounts.models import Tenant, User


def _send(user: User, subject: str, body: str) -> None:
    if user.email:
        send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, [user.email])


def send_confirmation(user: User, tenant: Tenant, link: str) -> None:
    _send(
        user,
        f"Confirm your email for {tenant.name} on PiPo",
        f"Hello {user.username},\n\n"
        f"open this link to confirm your address and activate your account in "
        f"{tenant.name}:\n\n{link}\n\n"
        "The link works once and expires in 24 hours. If you did not sign up, "
        "ignore this email.\n",
    )


def send_approved(user: User, tenant: Tenant, login_url: str) -> None:
    _send(
        user,
        f"You can now use {tenant.name} on PiPo",
        f"Hello {user.username},\n\nan administrator approved your account in "
        f"{tenant.name}. Log in here:\n\n{login_url}\n",
    )


def send_rejected(user: User, tenant: Tenant) -> None:
    _send(
        user,
        f"Your request to join {tenant.name} on PiPo",
        f"Hello {user.username},\n\nan administrator of {tenant.name} declined "
        "your request to join.\n",
    )
