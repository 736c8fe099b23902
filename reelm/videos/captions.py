"""Hashtags and @mentions in captions."""

from __future__ import annotations

import re

HASHTAG_RE = re.compile(r"(?<![\w&#])#(\w{1,100})", re.UNICODE)
MENTION_RE = re.compile(r"(?<![\w@])@([A-Za-z0-9_.]{2,30})")
CAPTION_MAX = 2200


def parse_hashtags(caption: str) -> list[str]:
    seen: dict[str, None] = {}
    for match in HASHTAG_RE.finditer(caption):
        tag = match.group(1).lower()
        if not tag.isdigit():
            seen.setdefault(tag, None)
    return list(seen)


def parse_mentions(caption: str) -> list[str]:
    seen: dict[str, None] = {}
    for match in MENTION_RE.finditer(caption):
        seen.setdefault(match.group(1).rstrip(".").lower(), None)
    return list(seen)
