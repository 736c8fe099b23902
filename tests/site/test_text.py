"""The page text filters: #hashtags and @mentions as links with everything else escaped, "just now", short counts."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from django.template import Context, Template

from reelm.videos.templatetags.reelm_text import ago, compact, linkify

OWN_LINK = re.compile(r'<a class="(?:tag|mention)" href="[^"<>]*">[^<>"]*</a>')
OWN_LINK_HREF = re.compile(r'<a class="(?:tag|mention)" href="([^"<>]*)">')


def render(text: str) -> str:
    return Template("{% load reelm_text %}{{ text|linkify }}").render(Context({"text": text}))


def test_plain_text_is_escaped() -> None:
    assert linkify("a < b & c > d \"q\" 'x'") == "a &lt; b &amp; c &gt; d &quot;q&quot; &#x27;x&#x27;"
    assert linkify("") == "" and linkify(None) == ""


def test_hashtags_link_to_their_tag_page_in_lower_case() -> None:
    assert linkify("Run #Marathon now") == 'Run <a class="tag" href="/tag/marathon">#Marathon</a> now'
    assert linkify("#été") == '<a class="tag" href="/tag/%C3%A9t%C3%A9">#été</a>'
    assert linkify("#a,#b") == '<a class="tag" href="/tag/a">#a</a>,<a class="tag" href="/tag/b">#b</a>'


def test_numbers_entities_and_words_are_not_hashtags() -> None:
    assert linkify("#2024 wins") == "#2024 wins"
    assert linkify("C#sharp") == "C#sharp"
    assert linkify("&#39;") == "&amp;#39;"
    assert linkify("##double") == "##double"


def test_mentions_link_to_profiles() -> None:
    assert linkify("hi @Bob_B.") == 'hi <a class="mention" href="/@bob_b">@Bob_B</a>.'
    assert linkify("@al.ice!") == '<a class="mention" href="/@al.ice">@al.ice</a>!'
    assert linkify("mail me@example.com") == "mail me@example.com"  # an e-mail address is no mention
    assert linkify("@a") == "@a"  # too short for a username


def test_line_breaks_become_br() -> None:
    assert linkify("one\r\ntwo\nthree") == "one<br>two<br>three"


@pytest.mark.parametrize(
    "hostile",
    [
        "<script>alert(1)</script> #tag",
        '<img src=x onerror="alert(1)"> @bob',
        '<a href="javascript:alert(1)">#click</a>',
        '#tag"><script>alert(1)</script>',
        '@bob" onmouseover="alert(1)',
        "#<b>bold</b>",
        "</a><a href=//evil.example>@bob",
    ],
)
def test_no_markup_from_the_text_ever_reaches_the_page(hostile: str) -> None:
    html = render(hostile)
    # Take out the filter's own links: nothing of the text's markup is left, not even a quote.
    rest = OWN_LINK.sub("", html).replace("<br>", "")
    assert "<" not in rest and ">" not in rest and '"' not in rest, html
    # Every link made points inside the site and holds only a token's own characters.
    for href in OWN_LINK_HREF.findall(html):
        assert href.startswith(("/tag/", "/@")), href
        assert all(c.isalnum() or c in "/@%_." for c in href), href


def test_links_are_never_made_inside_markup_of_the_text() -> None:
    html = render('<a href="#top">@bob</a>')
    assert html == (
        '&lt;a href=&quot;<a class="tag" href="/tag/top">#top</a>&quot;&gt;'
        '<a class="mention" href="/@bob">@bob</a>&lt;/a&gt;'
    )
    # Text the template already escaped is not escaped twice, nor trusted: the filter escapes the raw value.
    assert render("&amp;") == "&amp;amp;"


def test_just_now_and_units() -> None:
    now = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)
    assert ago(now, now) == "just now"
    assert ago(now - timedelta(seconds=59), now) == "just now"
    assert ago(now + timedelta(seconds=5), now) == "just now"  # a clock a little ahead
    assert ago(now - timedelta(seconds=60), now) == "1 minute ago"
    assert ago(now - timedelta(minutes=5, seconds=30), now) == "5 minutes ago"
    assert ago(now - timedelta(hours=1), now) == "1 hour ago"
    assert ago(now - timedelta(hours=23, minutes=59), now) == "23 hours ago"
    assert ago(now - timedelta(days=1), now) == "1 day ago"
    assert ago(now - timedelta(days=6), now) == "6 days ago"
    assert ago(now - timedelta(days=7), now) == "1 week ago"
    assert ago(now - timedelta(days=27), now) == "3 weeks ago"
    assert ago(datetime(2026, 3, 3, 12, 0, tzinfo=UTC), now) == "3 Mar"
    assert ago(datetime(2025, 3, 3, 12, 0, tzinfo=UTC), now) == "3 Mar 2025"
    assert ago(None) == ""


def test_compact_counts() -> None:
    assert [compact(n) for n in (0, 1, 999, 1000, 1234, 12_345, 999_950, 1_200_000, 2_000_000_000)] == [
        "0", "1", "999", "1K", "1.2K", "12.3K", "999K", "1.2M", "2B",
    ]  # fmt: skip
    assert compact("x") == ""
