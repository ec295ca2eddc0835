from django.conf import settings
from django.urls import path

from files.consumers import UploadConsumer
from relay.consumers import RelayConsumer

websocket_urlpatterns = [
    path("ws/", RelayConsumer.as_asgi()),
    path("ws/files/", UploadConsumer.as_asgi()),
]

if settings.PIPO_BENCH_PIPE:  # the benchmarks' bare binary pipe (bench/files_speed.py)
    from bench.pipe import BinaryPipeConsumer

    websocket_urlpatterns.append(path("ws/bench/pipe/", BinaryPipeConsumer.as_asgi()))
