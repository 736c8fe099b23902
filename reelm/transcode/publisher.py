"""Upload HLS output while ffmpeg is still writing it, so the lowest rendition plays after its first segment.

ffmpeg (with ``hls_flags=temp_file``) renames a segment into place only once it is complete, and replaces each
playlist atomically, so a playlist read here names only complete segments. Segments go up before the playlist
that lists them; a viewer never sees a playlist that points at a missing or partial segment.
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path, PurePosixPath

from reelm.storage.base import ObjectStore

log = logging.getLogger(__name__)


class SegmentPublisher(threading.Thread):
    """Mirrors finished segments and playlists to the store; ``playable`` turns true after the first segment."""

    def __init__(
        self,
        *,
        store: ObjectStore,
        workdir: Path,
        prefix: str,
        playlists: list[str],
        first_playlist: str,
        interval: float = 0.2,
    ):
        super().__init__(name="segment-publisher", daemon=True)
        self.store, self.workdir, self.prefix = store, workdir, prefix
        self.playlists = playlists
        self.first_playlist = first_playlist
        self.interval = interval
        self.uploaded: set[str] = set()
        self.published_playlists: dict[str, str] = {}
        self.playable = False
        self.error: BaseException | None = None
        self._halt = threading.Event()

    def run(self) -> None:
        try:
            while not self._halt.wait(self.interval):
                self.sync()
        except BaseException as exc:  # reported by flush(), which runs in the caller's thread
            self.error = exc

    def stop(self) -> None:
        self._halt.set()
        self.join()

    def flush(self) -> None:
        if self.error is not None:
            raise self.error
        self.sync()

    def sync(self) -> None:
        for playlist in self.playlists:
            self._sync_playlist(playlist)

    def _sync_playlist(self, playlist: str) -> None:
        path = self.workdir / playlist
        try:
            text = path.read_text()
        except FileNotFoundError:
            return
        if self.published_playlists.get(playlist) == text:
            return
        folder = PurePosixPath(playlist).parent
        segments = [line for line in text.splitlines() if line and not line.startswith("#")]
        for name in segments:
            relative = str(folder / name)
            if relative not in self.uploaded:
                self.store.put_file(self.prefix + relative, self.workdir / relative)
                self.uploaded.add(relative)
        self.store.put(self.prefix + playlist, text.encode())
        self.published_playlists[playlist] = text
        if playlist == self.first_playlist and segments and not self.playable:
            self.playable = True
            log.info("lowest rendition playable (%s)", self.prefix)
