"""Text from the database or a server, made safe to print on a terminal or in a log line."""

from __future__ import annotations

# C0 controls, DEL and C1 controls move the cursor, recolour or clear a terminal, ring its bell
# or start escape sequences; bidi overrides and line separators reorder or break a log line
_CONTROL = [
    *range(0x00, 0x20),
    0x7F,
    *range(0x80, 0xA0),
    0x2028,
    0x2029,
    *range(0x202A, 0x202F),
    *range(0x2066, 0x206A),
]
_ESCAPES = {
    code: ("\\x%02x" % code if code < 0x100 else "\\u%04x" % code)  # noqa: UP031
    for code in _CONTROL
}


def printable(text: str) -> str:
    """`text` with every control character written as a visible escape (`\\x1b`, `\\x07`).

    Printable Unicode (accents, CJK, emoji) is kept as it is; only characters that would act
    on the terminal or break the line are replaced.
    """
    return text.translate(_ESCAPES)
