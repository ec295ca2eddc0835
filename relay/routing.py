from django.urls import path

from relay.consumers import RelayConsumer

websocket_urlpatterns = [
    path("ws/", RelayConsumer.as_asgi()),
]
