"""The FFmpeg seam: content sniffing, probing, ladder planning and a real ladder run."""

from __future__ import annotations

import re
from pathlib import Path

import av
import pytest

from reelm.transcode import ffmpeg
from reelm.transcode.ffmpeg import LadderOutputs, ProbeError, plan_ladder, plan_outputs, probe


def test_sniffing_uses_content_not_names(tmp_path: Path, clips: dict[str, Path]) -> None:
    assert ffmpeg.sniff_demuxer(clips["portrait"]) == "mov"
    assert ffmpeg.sniff_demuxer(clips["webm"]) == "matroska"
    assert ffmpeg.sniff_demuxer(clips["mkv"]) == "matroska"
    fake = tmp_path / "video.mp4"
    fake.write_text("#EXTM3U\n#EXTINF:1,\nfile:///etc/passwd\n")
    with pytest.raises(ProbeError) as caught:
        ffmpeg.sniff_demuxer(fake)
    assert caught.value.code == "not_a_video"
    empty = tmp_path / "empty.mp4"
    empty.touch()
    with pytest.raises(ProbeError) as caught:
        ffmpeg.sniff_demuxer(empty)
    assert caught.value.code == "empty_file"


def test_probe_reports_display_geometry_and_codecs(clips: dict[str, Path]) -> None:
    portrait = probe(clips["portrait"])
    assert (portrait.width, portrait.height, portrait.rotation) == (320, 568, 0)
    assert portrait.video_codec == "h264" and portrait.audio_codec == "aac"
    assert portrait.duration == pytest.approx(2.0, abs=0.1)
    rotated = probe(clips["rotated"])
    assert rotated.rotation in (90, 270)
    assert (rotated.width, rotated.height) == (320, 568), "a phone video must be measured upright"
    webm = probe(clips["webm"])
    assert webm.demuxer == "matroska" and webm.video_codec == "vp9" and webm.audio_codec == "opus"
    assert probe(clips["silent"]).has_audio is False


def test_probe_refuses_audio_only(clips: dict[str, Path]) -> None:
    with pytest.raises(ProbeError) as caught:
        probe(clips["audio_only"])
    assert caught.value.code == "no_video"


@pytest.mark.parametrize(
    ("size", "expected"),
    [
        ((1080, 1920), [("1080p", 1080, 1920), ("720p", 720, 1280), ("480p", 480, 854), ("360p", 360, 640)]),
        ((1920, 1080), [("1080p", 1920, 1080), ("720p", 1280, 720), ("480p", 854, 480), ("360p", 640, 360)]),
        ((720, 1280), [("720p", 720, 1280), ("480p", 480, 854), ("360p", 360, 640)]),
        ((500, 900), [("480p", 480, 864), ("360p", 360, 648)]),
        ((320, 568), [("320p", 320, 568)]),
        ((323, 571), [("322p", 322, 570)]),
        ((480, 851), [("480p", 480, 850), ("360p", 360, 638)]),
    ],
)
def test_ladder_never_upscales(size: tuple[int, int], expected: list[tuple[str, int, int]]) -> None:
    ladder = plan_ladder(*size)
    assert [(r.name, r.width, r.height) for r in ladder] == expected
    for rendition in ladder:
        assert rendition.width % 2 == 0 and rendition.height % 2 == 0
        assert rendition.width <= size[0] and rendition.height <= size[1]


def test_ladder_command_is_one_decode_with_a_locked_down_input(clips: dict[str, Path]) -> None:
    media = probe(clips["portrait"])
    outputs = plan_outputs(media)
    cmd = ffmpeg.ladder_command(Path("/work/source.mp4"), media, outputs, preset="veryfast")
    assert cmd.count("-i") == 1, "the whole ladder comes from one input, decoded once"
    assert cmd[cmd.index("-protocol_whitelist") + 1] == "file"
    assert cmd[cmd.index("-f") + 1] == "mov", "the demuxer is forced, never guessed"
    graph = cmd[cmd.index("-filter_complex") + 1]
    assert re.match(r"\[0:v:0\]split=\d+", graph)
    assert "-map_metadata" in cmd and cmd[cmd.index("-map_metadata") + 1] == "-1"


def test_master_playlist_lists_renditions_by_bandwidth() -> None:
    renditions = plan_ladder(720, 1280)
    text = ffmpeg.master_playlist(renditions, has_audio=True)
    lines = text.splitlines()
    assert lines[0] == "#EXTM3U"
    uris = [line for line in lines if line and not line.startswith("#")]
    assert uris == ["360p/index.m3u8", "480p/index.m3u8", "720p/index.m3u8"]
    assert 'RESOLUTION=720x1280,CODECS="avc1.640028,mp4a.40.2"' in text
    assert "mp4a" not in ffmpeg.master_playlist(renditions, has_audio=False)


def test_real_ladder_run_produces_every_output(clips: dict[str, Path], tmp_path: Path) -> None:
    media = probe(clips["landscape"])  # 640x360: 360p only, never upscaled
    outputs = plan_outputs(media)
    ffmpeg.prepare_workdir(tmp_path, outputs)
    seen: list[float] = []
    ffmpeg.run_ladder(
        ffmpeg.ladder_command(clips["landscape"], media, outputs, preset="ultrafast"), tmp_path, on_progress=seen.append
    )
    assert seen and max(seen) == pytest.approx(2.0, abs=0.3)
    playlist = (tmp_path / LadderOutputs.playlist(outputs.renditions[0])).read_text()
    assert "#EXT-X-ENDLIST" in playlist
    segments = [line for line in playlist.splitlines() if line.endswith(".ts")]
    assert segments and all((tmp_path / "hls/360p" / name).stat().st_size > 0 for name in segments)
    assert not list(tmp_path.rglob("*.tmp")), "no partial segment is left behind"
    with av.open(str(tmp_path / LadderOutputs.mp4)) as mp4:
        stream = mp4.streams.video[0]
        assert (stream.width, stream.height) == (640, 360)
        assert mp4.streams.audio, "the fallback keeps the sound"
    assert (tmp_path / LadderOutputs.poster).read_bytes()[:3] == b"\xff\xd8\xff"
    assert (tmp_path / "preview_1.jpg").exists()


def test_a_broken_source_is_a_transcode_error(tmp_path: Path) -> None:
    media = ffmpeg.MediaProbe("mov", "mov", 2.0, 320, 568, 0, "h264", None, 30.0)
    outputs = plan_outputs(media)
    ffmpeg.prepare_workdir(tmp_path, outputs)
    garbage = tmp_path / "source.mp4"
    garbage.write_bytes(b"\x00\x00\x00\x18ftypisom" + b"\x00" * 100)
    with pytest.raises(ffmpeg.TranscodeError, match="ffmpeg failed"):
        ffmpeg.run_ladder(ffmpeg.ladder_command(garbage, media, outputs, preset="ultrafast"), tmp_path)
