"""Template filters for user text on the pages: captions, comments and bios with their #hashtags and @mentions as
links (the same URL shapes as the feed's script), times as people say them ("just now", "5 minutes ago") and big
numbers in short ("1.2K")."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import quote

from django import template
from django.utils import timezone
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

from reelm.accounts.selectors import avatar_url

register = template.Library()

# As reelm.videos.captions parses them, and as feed.js links them: a hashtag not preceded by a word character,
# ``&`` or ``#`` (so ``&#39;`` is never one); a mention not preceded by a word character or ``@`` (an e-mail).
TOKEN_RE = re.compile(r"(?<![\w&#])#(\w{1,100})|(?<![\w@])@([A-Za-z0-9_.]{2,30})", re.UNICODE)


def _text(text: str) -> str:
    """Escaped plain text, line breaks as ``<br>``."""
    return escape(text).replace("\n", "<br>")


@register.filter(is_safe=False, needs_autoescape=False)
def linkify(value: object) -> SafeString:
    """``value`` as HTML: every character of it escaped, then each ``#tag`` a link to ``/tag/<tag>`` and each
    ``@name`` a link to ``/@name``; line breaks become ``<br>``.

    The text is cut into tokens first and every piece is escaped on its own, so no markup in the text can ever
    reach the page, and a link is only ever made of a token's own letters, digits, underscores and dots."""
    text = "" if value is None else str(value)
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    out: list[str] = []
    at = 0
    for match in TOKEN_RE.finditer(text):
        out.append(_text(text[at : match.start()]))
        tag, name = match.group(1), match.group(2)
        if tag is not None and not tag.isdigit():
            href = "/tag/" + quote(tag.lower(), safe="")
            out.append(f'<a class="tag" href="{escape(href)}">#{escape(tag)}</a>')
        elif name is not None:
            handle = name.rstrip(".")
            if len(handle) >= 2:
                href = "/@" + quote(handle.lower(), safe="")
                out.append(f'<a class="mention" href="{escape(href)}">@{escape(handle)}</a>')
                out.append(_text(name[len(handle) :]))
            else:
                out.append(_text(match.group(0)))
        else:
            out.append(_text(match.group(0)))
        at = match.end()
    out.append(_text(text[at:]))
    return mark_safe("".join(out))  # noqa: S308  # every piece of user text above went through escape()


def _plural(count: int, unit: str) -> str:
    return f"{count} {unit}{'' if count == 1 else 's'} ago"


@register.filter
def ago(value: datetime | None, now: datetime | None = None) -> str:
    """How long ago ``value`` was, as people say it: "just now" under a minute, then minutes, hours, days and
    weeks; older than four weeks, the date ("3 Mar", with the year when it is not this year)."""
    if value is None:
        return ""
    now = now or timezone.now()
    elapsed = now - value
    if elapsed < timedelta(minutes=1):
        return "just now"  # a clock a little ahead of ours, too
    if elapsed < timedelta(hours=1):
        return _plural(int(elapsed.total_seconds() // 60), "minute")
    if elapsed < timedelta(days=1):
        return _plural(int(elapsed.total_seconds() // 3600), "hour")
    if elapsed < timedelta(days=7):
        return _plural(elapsed.days, "day")
    if elapsed < timedelta(days=28):
        return _plural(elapsed.days // 7, "week")
    local = timezone.localtime(value) if timezone.is_aware(value) else value
    current = timezone.localtime(now) if timezone.is_aware(now) else now
    if local.year == current.year:
        return f"{local.day} {local:%b}"
    return f"{local.day} {local:%b} {local.year}"


@register.filter
def compact(value: object) -> str:
    """A count in short, as TikTok shows them: 999, 1K, 1.2K, 12K, 1.2M."""
    try:
        number = int(str(value))
    except (TypeError, ValueError):
        return ""
    for size, suffix in ((1_000_000_000, "B"), (1_000_000, "M"), (1_000, "K")):
        if abs(number) >= size:
            scaled = number / size
            text = f"{scaled:.1f}" if abs(scaled) < 100 else f"{scaled:.0f}"
            # Never round up into a value the number has not reached (999 950 is "999.9K", not "1000.0K").
            if float(text) * size > abs(number):
                text = f"{int(scaled * 10) / 10:.1f}" if abs(scaled) < 100 else f"{int(scaled)}"
            return text.removesuffix(".0") + suffix
    return str(number)


@register.filter
def avatar(account: Any) -> str:
    """An account's avatar URL, or "" when it has none (templates show its initial then)."""
    return avatar_url(account) or "" if account is not None else ""
