from __future__ import annotations

from typing import Any

from django import template

from reelm.notifications.selectors import unread_count as count_unread

register = template.Library()


@register.simple_tag(takes_context=True)
def unread_count(context: Any) -> int:
    """The signed-in user's unread notifications (one indexed COUNT); 0 for visitors."""
    user = context.get("user")
    if user is None or not user.is_authenticated:
        return 0
    return count_unread(user.id)
