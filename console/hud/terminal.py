"""What the terminal can show: block characters or not (pure; the environment is passed in)."""

from __future__ import annotations

LIMITED_TERMS = ("linux", "dumb", "cons25", "ansi")


def ascii_only(env: dict[str, str], encoding: str) -> bool:
    """True where block characters would show as garbage: the Linux framebuffer console (``TERM=linux``:
    its fonts lack most of them), VT terminals, ``dumb``, or a locale that is not UTF-8.  A page
    served to a browser (textual-serve's web driver) can show everything."""
    if env.get("TEXTUAL_DRIVER", "").endswith("WebDriver"):
        return False
    if env.get("JETCONSOLE_ASCII", "") not in ("", "0"):
        return True
    term = env.get("TERM", "")
    if term in LIMITED_TERMS or term.startswith("vt"):
        return True
    return encoding.replace("-", "").lower() not in ("utf8", "utf_8")
