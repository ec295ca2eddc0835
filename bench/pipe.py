"""A bare websocket binary pipe: the ceiling for upload frames on this server.

`bench/files_speed.py` drives it with the upload's frames (`16-byte id ‖
uint32 BE index ‖ chunk`) and the upload's window, so the only difference
from `/ws/files/` is what the server does with a chunk: here it acknowledges
each binary frame with a small text frame shaped like `chunk_ack` and drops
the bytes (no database, no disk, no admission beyond the ASGI stack's
gates). Routed at `/ws/bench/pipe/` only when `PIPO_BENCH_PIPE` is on
(`relay/routing.py`); never in production.
"""

import json
import uuid

from relay.direct_dispatch import DirectDispatchConsumer

PREFIX_BYTES = 20  # 16-byte upload id, 4-byte chunk index


class BinaryPipeConsumer(DirectDispatchConsumer):
    received_bytes = 0

    async def connect(self) -> None:
        await self.accept()

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        if bytes_data is None:
            await self.send(text_data=json.dumps({"type": "pong"}))
            return
        if len(bytes_data) < PREFIX_BYTES:
            await self.send(text_data=json.dumps({"type": "error", "code": "bad_chunk_frame"}))
            return
        self.received_bytes += len(bytes_data)
        answer = {
            "type": "chunk_ack",
            "upload": str(uuid.UUID(bytes=bytes_data[:16])),
            "chunk": int.from_bytes(bytes_data[16:PREFIX_BYTES], "big"),
        }
        await self.send(text_data=json.dumps(answer, separators=(",", ":")))
