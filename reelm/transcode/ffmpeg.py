"""The one module that talks to FFmpeg: probing (in-process through PyAV) and the transcode ladder (the ffmpeg
binary shipped by imageio-ffmpeg).

Hostile input is the norm here. Before FFmpeg sees a file, its first bytes must look like ISO-BMFF (mp4/mov) or
Matroska (mkv/webm); the demuxer is then forced to that family, only the ``file`` protocol is allowed, and the
paths are Reelm's own. A playlist (HLS, concat, SDP, ...) therefore never reaches a demuxer that would follow
its references.
"""

from __future__ import annotations

import ctypes
import logging
import signal
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
from django.conf import settings

log = logging.getLogger(__name__)

ISO_BMFF_BOXES = {b"ftyp", b"moov", b"mdat", b"wide", b"free", b"skip", b"pnot"}
EBML_MAGIC = b"\x1a\x45\xdf\xa3"
# Demuxer family -> names libavformat reports for it.
CONTAINERS = {"mov": {"mov", "mp4", "m4a", "3gp", "3g2", "mj2"}, "matroska": {"matroska", "webm"}}
VIDEO_CODECS = {"h264", "hevc", "vp8", "vp9", "av1", "mpeg4", "prores"}
AUDIO_CODECS = {"aac", "mp3", "opus", "vorbis", "flac", "ac3", "eac3", "alac", "pcm_s16le", "pcm_s24le"}
PR_SET_PDEATHSIG = 1
INPUT_OPTIONS = {"protocol_whitelist": "file", "enable_drefs": "0"}
# How far short of its declared duration a file's last packet may end before it counts as truncated.
TAIL_TOLERANCE_SECONDS = 0.25


class ProbeError(Exception):
    """The upload is not a video Reelm accepts. ``code`` is stable for API clients."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


class TranscodeError(Exception):
    """FFmpeg could not turn a probed file into renditions (corrupt data deeper in the file)."""


@dataclass(frozen=True)
class MediaProbe:
    demuxer: str
    container: str
    duration: float
    width: int  # as displayed, after rotation
    height: int
    rotation: int
    video_codec: str
    audio_codec: str | None
    frame_rate: float

    @property
    def has_audio(self) -> bool:
        return self.audio_codec is not None

    @property
    def extension(self) -> str:
        return "mkv" if self.demuxer == "matroska" else "mp4"


def ffmpeg_path() -> str:
    if settings.REELM_FFMPEG:
        return settings.REELM_FFMPEG
    import imageio_ffmpeg

    return imageio_ffmpeg.get_ffmpeg_exe()


def sniff_demuxer(path: Path) -> str:
    """Which demuxer family the file's magic bytes claim, from its content alone."""
    with open(path, "rb") as handle:
        head = handle.read(12)
    if not head:
        raise ProbeError("empty_file", "The file is empty.")
    if head[:4] == EBML_MAGIC:
        return "matroska"
    if len(head) >= 8 and head[4:8] in ISO_BMFF_BOXES:
        return "mov"
    raise ProbeError("not_a_video", "The file is not a video in a supported container (MP4/MOV, WebM or MKV).")


def probe(path: Path) -> MediaProbe:
    """Identify and measure an upload; raise ProbeError with a user-facing reason if Reelm can't take it."""
    demuxer = sniff_demuxer(path)
    try:
        container = av.open(str(path), format=demuxer, container_options=INPUT_OPTIONS)
    except (av.error.FFmpegError, UnicodeDecodeError, ValueError) as exc:
        raise ProbeError("unreadable", "The video could not be read; it may be truncated or corrupt.") from exc
    with container:
        name = container.format.name
        if not set(name.split(",")) & CONTAINERS[demuxer]:
            raise ProbeError("unsupported_container", f"Container {name!r} is not supported.")
        if not container.streams.video:
            raise ProbeError("no_video", "The file has no video track (audio-only files are not accepted).")
        video = container.streams.video[0]
        video_codec = video.codec_context.name
        if video_codec not in VIDEO_CODECS:
            raise ProbeError("unsupported_codec", f"Video codec {video_codec!r} is not supported.")
        audio_codec = None
        if container.streams.audio:
            audio_codec = container.streams.audio[0].codec_context.name
            if audio_codec not in AUDIO_CODECS:
                raise ProbeError("unsupported_codec", f"Audio codec {audio_codec!r} is not supported.")
        duration = _duration(container, video)
        first = _first_frame(container, video)
        rotation = int(getattr(first, "rotation", 0) or 0) % 360
        width, height = first.width, first.height
        if rotation in (90, 270):
            width, height = height, width
        _check_tail_decodes(container, video, duration)
        rate = video.average_rate or video.guessed_rate or Fraction(30)
        return MediaProbe(
            demuxer=demuxer,
            container=name,
            duration=duration,
            width=width,
            height=height,
            rotation=rotation,
            video_codec=video_codec,
            audio_codec=audio_codec,
            frame_rate=float(rate),
        )


def _duration(container: av.container.InputContainer, video: av.video.stream.VideoStream) -> float:
    if container.duration and container.duration > 0:
        return container.duration / av.time_base
    if video.duration and video.time_base:
        return float(video.duration * video.time_base)
    raise ProbeError("unreadable", "The video's duration could not be determined.")


def _first_frame(
    container: av.container.InputContainer, video: av.video.stream.VideoStream
) -> av.video.frame.VideoFrame:
    try:
        for frame in container.decode(video):
            return frame
    except av.error.FFmpegError as exc:
        raise ProbeError("undecodable", "The video track could not be decoded.") from exc
    raise ProbeError("undecodable", "The video track has no decodable frames.")


def _check_tail_decodes(
    container: av.container.InputContainer, video: av.video.stream.VideoStream, duration: float
) -> None:
    """A file cut short can keep its whole index (an MP4 with its moov first, a Matroska file with its duration
    up front): the packets near the declared end must actually be there, and whole."""
    start = container.start_time / av.time_base if container.start_time is not None else 0.0
    target = max(duration - TAIL_TOLERANCE_SECONDS, 0.0)
    reached = None
    try:
        # Demux (no decoding) every stream from the keyframe before the last second to the end of the file.
        container.seek(int((start + max(target - 1.0, 0.0)) * av.time_base), backward=True, any_frame=False)
        for packet in container.demux():
            if packet.pts is None or packet.time_base is None:
                continue  # a flush packet
            if packet.is_corrupt:
                raise ProbeError("truncated", "The video is truncated or corrupt near its end.")
            end = float((packet.pts + (packet.duration or 0)) * packet.time_base) - start
            reached = end if reached is None else max(reached, end)
    except av.error.FFmpegError as exc:
        raise ProbeError("truncated", "The video is truncated or corrupt near its end.") from exc
    if reached is None or reached < target:
        raise ProbeError("truncated", "The video is truncated: it ends before its declared duration.")


@dataclass(frozen=True)
class Rung:
    name: str
    short_side: int
    max_bitrate: int  # bits per second, video
    audio_bitrate: int


LADDER = (
    Rung("1080p", 1080, 5_000_000, 128_000),
    Rung("720p", 720, 2_800_000, 128_000),
    Rung("480p", 480, 1_400_000, 96_000),
    Rung("360p", 360, 800_000, 64_000),
)


@dataclass(frozen=True)
class Rendition:
    name: str
    width: int
    height: int
    max_bitrate: int
    audio_bitrate: int

    @property
    def bandwidth(self) -> int:
        return self.max_bitrate + self.audio_bitrate


def _even(value: float) -> int:
    """Nearest even size (H.264 with 4:2:0 needs even sides)."""
    return max(2, int(value / 2 + 0.5) * 2)


def _even_down(value: int) -> int:
    return max(2, value // 2 * 2)


def plan_ladder(width: int, height: int) -> list[Rendition]:
    """Renditions from highest to lowest, never upscaled; a small source gets one rendition at its own size."""
    short, long_ = min(width, height), max(width, height)
    portrait = height > width
    renditions = []
    for rung in LADDER:
        if rung.short_side > short:
            continue
        scaled_long = min(_even(long_ * rung.short_side / short), _even_down(long_))
        w, h = (rung.short_side, scaled_long) if portrait else (scaled_long, rung.short_side)
        renditions.append(Rendition(rung.name, w, h, rung.max_bitrate, rung.audio_bitrate))
    if not renditions:
        rung = LADDER[-1]
        w, h = _even_down(width), _even_down(height)  # never a pixel larger than the source
        renditions.append(Rendition(f"{min(w, h)}p", w, h, rung.max_bitrate, rung.audio_bitrate))
    return renditions


@dataclass(frozen=True)
class LadderOutputs:
    """Relative paths (inside the work directory) of what one ffmpeg run produces."""

    renditions: list[Rendition]
    mp4_rendition: Rendition
    preview_count: int

    @staticmethod
    def playlist(rendition: Rendition) -> str:
        return f"hls/{rendition.name}/index.m3u8"

    @staticmethod
    def segment_dir(rendition: Rendition) -> str:
        return f"hls/{rendition.name}"

    mp4 = "video.mp4"
    poster = "poster.jpg"
    preview_pattern = "preview_%d.jpg"


SEGMENT_SECONDS = 2


def plan_outputs(media: MediaProbe) -> LadderOutputs:
    renditions = plan_ladder(media.width, media.height)
    # The progressive fallback is the 480p-or-lower rendition: small enough for slow links, same encode.
    fallback = next((r for r in renditions if min(r.width, r.height) <= 480), renditions[-1])
    previews = max(1, min(4, int(media.duration // 2)))
    return LadderOutputs(renditions=renditions, mp4_rendition=fallback, preview_count=previews)


def _hls_options(rendition: Rendition) -> dict[str, str]:
    return {
        "hls_time": str(SEGMENT_SECONDS),
        "hls_playlist_type": "event",  # rewritten as segments finish, so playback can start early
        "hls_flags": "temp_file+independent_segments",  # a segment appears only once complete
        "hls_segment_filename": f"{LadderOutputs.segment_dir(rendition)}/seg_%05d.ts",
    }


def ladder_command(source: Path, media: MediaProbe, outputs: LadderOutputs, *, preset: str) -> list[str]:
    """One ffmpeg process, one decode: split the decoded video into every rendition, the poster and previews.

    The lowest rendition is listed first so its muxer is serviced first; every output's segments appear as the
    decode progresses, so the lowest one is playable after its first segment.
    """
    renditions = sorted(outputs.renditions, key=lambda r: r.width * r.height)
    branches = len(renditions) + 2
    labels = [f"s{i}" for i in range(branches)]
    graph = [f"[0:v:0]split={branches}" + "".join(f"[{label}]" for label in labels)]
    for index, rendition in enumerate(renditions):
        graph.append(
            f"[s{index}]scale={rendition.width}:{rendition.height}:flags=bicubic,setsar=1,format=yuv420p[v{index}]"
        )
    poster_at = min(1.0, media.duration / 3)
    poster = renditions[-1]
    graph.append(
        # trim ends the branch after its one frame, so later frames are not filtered only to be dropped.
        f"[s{branches - 2}]select='gte(t\\,{poster_at:.3f})',trim=end_frame=1,scale={poster.width}:{poster.height},setsar=1[poster]"
    )
    every = max(media.duration / outputs.preview_count, 0.1)
    small = renditions[0]
    graph.append(f"[s{branches - 1}]fps=1/{every:.3f},scale={small.width}:{small.height},setsar=1[previews]")

    gop = max(1, round(media.frame_rate * SEGMENT_SECONDS))
    cmd = [
        ffmpeg_path(), "-hide_banner", "-nostdin", "-y", "-loglevel", "error", "-progress", "pipe:1", "-stats_period", "0.25",
        "-protocol_whitelist", "file", "-f", media.demuxer, "-i", str(source),
        "-map_metadata", "-1", "-map_chapters", "-1", "-fflags", "+bitexact",
        "-filter_complex", ";".join(graph),
    ]  # fmt: skip
    for index, rendition in enumerate(renditions):
        cmd += ["-map", f"[v{index}]"]
        if media.has_audio:
            cmd += ["-map", "0:a:0", "-c:a", "aac", "-b:a", str(rendition.audio_bitrate), "-ac", "2"]
        cmd += [
            "-c:v", "libx264", "-preset", preset, "-profile:v", "high", "-crf", "23",
            "-maxrate", str(rendition.max_bitrate), "-bufsize", str(rendition.max_bitrate * 2),
            "-g", str(gop), "-keyint_min", str(gop), "-sc_threshold", "0",
            "-map_metadata", "-1", "-metadata:s", "handler_name=", "-flags:v", "+bitexact",
        ]  # fmt: skip
        hls = _hls_options(rendition)
        if rendition == outputs.mp4_rendition:
            # The progressive MP4 reuses this rendition's encode through the tee muxer: no second encode.
            hls_spec = ":".join(f"{key}={value}" for key, value in hls.items())
            cmd += [
                "-f", "tee",
                f"[f=hls:{hls_spec}]{LadderOutputs.playlist(rendition)}"
                f"|[f=mp4:movflags=+faststart]{LadderOutputs.mp4}",
            ]  # fmt: skip
        else:
            cmd += ["-f", "hls"]
            for key, value in hls.items():
                cmd += [f"-{key}", value]
            cmd.append(LadderOutputs.playlist(rendition))
    cmd += ["-map", "[poster]", "-frames:v", "1", "-q:v", "3", LadderOutputs.poster]
    cmd += ["-map", "[previews]", "-frames:v", str(outputs.preview_count), "-q:v", "5"]
    cmd.append(LadderOutputs.preview_pattern)
    return cmd


def master_playlist(renditions: list[Rendition], has_audio: bool) -> str:
    lines = ["#EXTM3U", "#EXT-X-VERSION:6", "#EXT-X-INDEPENDENT-SEGMENTS"]
    codecs = "avc1.640028,mp4a.40.2" if has_audio else "avc1.640028"
    for rendition in sorted(renditions, key=lambda r: r.bandwidth):
        lines.append(
            f"#EXT-X-STREAM-INF:BANDWIDTH={rendition.bandwidth},RESOLUTION={rendition.width}x{rendition.height},"
            f'CODECS="{codecs}"'
        )
        lines.append(f"{rendition.name}/index.m3u8")
    return "\n".join(lines) + "\n"


def prepare_workdir(workdir: Path, outputs: LadderOutputs) -> None:
    for rendition in outputs.renditions:
        (workdir / outputs.segment_dir(rendition)).mkdir(parents=True, exist_ok=True)


def run_ladder(cmd: list[str], workdir: Path, *, on_progress: Callable[[float], None] | None = None) -> None:
    """Run the ladder in ``workdir``; ``on_progress(seconds_done)`` is called as ffmpeg reports progress."""
    log.info("ffmpeg ladder in %s", workdir)
    process = subprocess.Popen(
        cmd,
        cwd=workdir,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        bufsize=1,
        preexec_fn=_die_with_parent,  # only calls a libc function resolved before the fork
    )
    assert process.stdout is not None
    try:
        for line in process.stdout:
            if line.startswith("out_time_us=") and on_progress is not None:
                value = line.split("=", 1)[1].strip()
                if value.isdigit():
                    on_progress(int(value) / 1_000_000)
    except BaseException:
        process.kill()  # the caller gave up on this attempt (e.g. its lease was lost)
        process.wait()
        raise
    stderr = process.stderr.read() if process.stderr else ""
    code = process.wait()
    if code < 0:
        raise OSError(f"ffmpeg was killed by signal {-code}")
    if code != 0:
        raise TranscodeError(_summarise(stderr))


def _load_prctl() -> Callable[..., int] | None:
    try:
        return ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):  # not Linux
        return None


# Resolved once in the parent: the forked child must not load libraries (another thread may hold the lock).
_prctl = _load_prctl()


def _die_with_parent() -> None:
    """A worker killed mid-transcode takes its ffmpeg with it (Linux); elsewhere ffmpeg runs to its end."""
    if _prctl is not None:
        _prctl(PR_SET_PDEATHSIG, signal.SIGKILL)


def _summarise(stderr: str) -> str:
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    return ("ffmpeg failed: " + " | ".join(lines[-3:]))[:500] if lines else "ffmpeg failed"
