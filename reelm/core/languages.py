"""The languages a video can be in and a viewer can prefer: ISO 639-1 codes, one fixed list, with readable names.

A video's language is what is spoken in it (blank: unknown, or no speech); a viewer's languages feed the
recommender's "trending in your language" source. Browsers say what their user reads in the Accept-Language
header, which :func:`accept_languages` turns into codes of this list.
"""

from __future__ import annotations

import re

from reelm.core.errors import InvalidInput

#: Code → English name. Adding one needs a migration (``Video.language`` lists them as choices).
LANGUAGES: dict[str, str] = {
    "ar": "Arabic", "bn": "Bengali", "ca": "Catalan", "cs": "Czech", "da": "Danish", "de": "German",
    "el": "Greek", "en": "English", "es": "Spanish", "fa": "Persian", "fi": "Finnish", "fr": "French",
    "he": "Hebrew", "hi": "Hindi", "hu": "Hungarian", "id": "Indonesian", "it": "Italian", "ja": "Japanese",
    "ko": "Korean", "ms": "Malay", "nl": "Dutch", "no": "Norwegian", "pl": "Polish", "pt": "Portuguese",
    "ro": "Romanian", "ru": "Russian", "sv": "Swedish", "sw": "Swahili", "ta": "Tamil", "th": "Thai",
    "tl": "Tagalog", "tr": "Turkish", "uk": "Ukrainian", "ur": "Urdu", "vi": "Vietnamese", "zh": "Chinese",
}  # fmt: skip
#: For form and model choices: sorted by name, so a person finds theirs.
LANGUAGE_CHOICES: list[tuple[str, str]] = sorted(LANGUAGES.items(), key=lambda item: item[1])
#: A video's choices: the blank one first.
VIDEO_LANGUAGE_CHOICES: list[tuple[str, str]] = [("", "Unknown or no speech"), *LANGUAGE_CHOICES]
#: A viewer prefers at most this many.
MAX_PREFERRED = 5
#: Guessed from a browser's Accept-Language at signup and sign-in: at most this many.
MAX_FROM_BROWSER = 3

# One entry of Accept-Language: a tag (or *) and an optional ";q=" weight (RFC 9110, section 12.5.4).
_ENTRY = re.compile(r"^\s*([A-Za-z]{1,8}(?:-[A-Za-z0-9]{1,8})*|\*)\s*(?:;\s*q\s*=\s*([0-9](?:\.[0-9]{0,3})?))?\s*$")


def clean_language(code: str) -> str:
    """A video's language as stored: a known code, or blank for unknown. Anything else is a 400."""
    code = code.strip().lower()
    if code and code not in LANGUAGES:
        raise InvalidInput(
            f"“{code[:20]}” is not a language Reelm knows: use a two-letter ISO 639-1 code such as en, de or pt, "
            "or leave it empty.",
            code="invalid_language",
        )
    return code


def accept_languages(header: str, *, limit: int = MAX_FROM_BROWSER) -> list[str]:
    """The known languages of an Accept-Language header, most wanted first (ties in the order given), each once:
    region and script subtags are dropped ("pt-BR" is "pt"), unknown codes, "*", malformed entries and q=0 too."""
    weighted: list[tuple[float, int, str]] = []
    for at, entry in enumerate(header.split(",")[:50]):  # a bound on what a client can make us parse
        match = _ENTRY.match(entry)
        if match is None or match.group(1) == "*":
            continue
        q = float(match.group(2)) if match.group(2) is not None else 1.0
        code = match.group(1).split("-")[0].lower()
        if 0 < q <= 1 and code in LANGUAGES:
            weighted.append((-q, at, code))
    return list(dict.fromkeys(code for _, _, code in sorted(weighted)))[:limit]
