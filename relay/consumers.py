"""The realtime websocket at /ws/.

Thin by design: each frame is parsed by relay.frames, acted on, and answered.
Whatever goes wrong with one frame is answered with an error frame on this
connection only; the connection stays open.
"""

import json
import logging
from typing import Any

from channels.generic.websocket import AsyncWebsocketConsumer
from django.conf import settings

from relay import close_codes
from relay.frames import ClientFrame, FrameError, FrameErrorCode, Ping, parse_text_frame

logger = logging.getLogger(__name__)


def encode_frame(frame: dict[str, Any]) -> str:
    return json.dumps(frame, separators=(",", ":"), ensure_ascii=False)


class RelayConsumer(AsyncWebsocketConsumer):  # type: ignore[misc]  # channels is untyped
    async def connect(self) -> None:
        # The relay carries nothing but pings yet, so a signed-out visitor of
        # a tenant may connect (the login page shows the connection too);
        # rooms (issue #5) will require `scope["user"]` of this tenant.
        if self.scope.get("tenant") is None:
            await self.close(code=close_codes.NO_TENANT)
            return
        await self.accept()

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        try:
            if text_data is None:
                raise FrameError(
                    FrameErrorCode.BINARY_NOT_EXPECTED,
                    "binary frames are accepted only during a file upload",
                )
            frame = parse_text_frame(text_data, max_bytes=settings.PIPO_MAX_TEXT_FRAME_BYTES)
            await self.handle(frame)
        except FrameError as error:
            await self.send_frame(error.to_frame())
        except Exception:
            # Never a stack trace to the client; the log gets the kind only,
            # not the frame (it may carry ciphertext or keys).
            logger.exception("relay: unexpected error while handling a frame")
            await self.send_frame(
                FrameError(
                    FrameErrorCode.INTERNAL_ERROR, "the server could not handle this frame"
                ).to_frame()
            )

    async def handle(self, frame: ClientFrame) -> None:
        match frame:
            case Ping(id=ref):
                await self.send_frame({"type": "pong", "id": ref} if ref else {"type": "pong"})

    async def send_frame(self, frame: dict[str, Any]) -> None:
        await self.send(text_data=encode_frame(frame))
