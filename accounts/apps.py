from django.apps import AppConfig
from django.contrib.admin.apps import AdminConfig


class AccountsConfig(AppConfig):
    default = True
    name = "accounts"
    verbose_name = "People"


class PipoAdminConfig(AdminConfig):
    """Django's admin with PiPo's per-tenant site as the default site."""

    default = False
    default_site = "accounts.admin_site.TenantAdminSite"
