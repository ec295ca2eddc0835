from django.urls import path

from rooms import api, history_api

urlpatterns = [
    path("chain", api.ChainView.as_view()),
    path("chain/genesis", api.GenesisView.as_view()),
    path("chain/genesis-draft", api.GenesisDraftView.as_view()),
    path("chain/genesis-draft/signature", api.GenesisSignatureView.as_view()),
    path("chain/head", api.HeadView.as_view()),
    path("chain/links", api.LinksView.as_view()),
    path("rooms/<str:room_id>/messages", history_api.MessagesView.as_view()),
    path("rooms/<str:room_id>/epochs", history_api.EpochsView.as_view()),
]
