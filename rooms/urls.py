from django.urls import path

from rooms import api

urlpatterns = [
    path("chain", api.ChainView.as_view()),
    path("chain/genesis", api.GenesisView.as_view()),
    path("chain/head", api.HeadView.as_view()),
    path("chain/links", api.LinksView.as_view()),
]
