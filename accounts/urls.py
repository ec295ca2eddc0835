from django.urls import path

from accounts import api

urlpatterns = [
    path("tenant", api.TenantInfoView.as_view()),
    path("auth/prelogin", api.PreloginView.as_view()),
    path("auth/signup", api.SignupView.as_view()),
    path("auth/login", api.LoginView.as_view()),
    path("auth/me", api.MeView.as_view()),
    path("auth/logout", api.LogoutView.as_view()),
    path("auth/password", api.PasswordView.as_view()),
    path("auth/rotate-keys", api.RotateKeysView.as_view()),
    path("auth/recovery/unlock", api.RecoveryUnlockView.as_view()),
    path("auth/recovery/reset", api.RecoveryResetView.as_view()),
    path("auth/email/confirm", api.ConfirmEmailView.as_view()),
    path("auth/email/resend", api.ResendConfirmationView.as_view()),
    path("invites", api.InvitesView.as_view()),
    path("signup-requests", api.SignupRequestsView.as_view()),
    path(
        "signup-requests/<str:username>/<str:decision>",
        api.SignupDecisionView.as_view(),
    ),
]
