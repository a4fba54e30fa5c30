"""Template filters for the console's one way of writing numbers and names."""

from __future__ import annotations

from typing import Any

from django import template

from console.display import file_label, number, sentence

register = template.Library()


@register.filter
def num(value: Any) -> str:
    """``{{ count|num }}`` → ``1,280``; anything not a number is shown as it is."""
    if value in (None, ""):
        return "0"
    return number(value)


@register.filter
def filelabel(name: str) -> str:
    """``{{ "user_observers"|filelabel }}`` → ``Observer links``."""
    return file_label(name)


register.filter("sentence", sentence)
