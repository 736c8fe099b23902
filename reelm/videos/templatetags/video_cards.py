"""Template filters for video cards (the dicts of ``reelm.videos.cards``), which carry values, not models."""

from __future__ import annotations

from django import template

from reelm.videos.states import VideoState

register = template.Library()


@register.filter
def state_label(state: str) -> str:
    """A card's ``state`` as people read it, like ``Video.get_state_display``."""
    return str(VideoState(state).label)
