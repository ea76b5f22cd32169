"""Image sizes as users type them: ``HxW`` (``512x1024``; ``512*1024`` too), one rule for every option and list."""

from __future__ import annotations

from flame.core.errors import ConfigError


def parse_size(text: str | None) -> tuple[int, int] | None:
    """Parse ``HxW`` (for example ``512x1024``) into ``(height, width)``; None stays None.

    Raises:
        ConfigError: when the text is not two positive integers joined by ``x``.
    """
    if text is None:
        return None
    parts = text.strip().lower().replace("*", "x").split("x")
    try:
        height, width = (int(p) for p in parts)
    except ValueError:
        raise ConfigError(f"expected a size as HxW (for example 512x1024), found {text!r}") from None
    if height <= 0 or width <= 0:
        raise ConfigError(f"expected a positive size HxW, found {text!r}")
    return height, width


def format_size(size: "tuple[int, int] | list[int]") -> str:
    """``(height, width)`` as users type it: ``HxW`` (``(512, 1024)`` -> ``512x1024``).

    The one way sizes are shown (messages, tables, reports, the overlay), so no
    message reads width first. For an image array pass ``image.shape[:2]``.
    """
    height, width = size[0], size[1]
    return f"{int(height)}x{int(width)}"
