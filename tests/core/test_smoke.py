from __future__ import annotations

from pathlib import Path
from typing import Any

from reelm.videos.models import Video


def test_upload_transcodes_to_ready(api: Any, clips: dict[str, Path], upload: Any) -> None:
    response = upload(api, clips["portrait"], caption="first #clip")
    assert response.status_code == 201, response.content
    video = Video.objects.get(id=response.json()["id"])
    assert video.state == "ready", video.failure_reason
