"""Text people type, made safe to store and to show (CONTRACT, "Quality rules").

Every string argument and option passes through `clean` (argument resolution does it for
every adapter), so no feature has to think about it:

- control characters other than newline and tab are refused: PostgreSQL cannot store NUL
  at all, and the others garble what a channel shows; one sentence, the same everywhere;
- bidirectional overrides and isolates are removed: they make a name or an announcement
  read differently from what it is (U+202E turns "exe.txt" around);
- text that draws nothing once invisible characters are left out is refused (`is_blank`),
  so nothing posts a visually empty message.

Zero-width joiners and the like are kept inside visible text: emoji sequences need them.
"""

from __future__ import annotations

import re
import unicodedata

from bot.core.errors import UserError

CONTROL_REFUSAL = (
    "Control characters (such as NUL) are not allowed in what you type; remove them and try again."
)

# C0 and C1 controls but tab and newline (carriage returns are turned into newlines first),
# and lone surrogates, which no database can store as UTF-8.
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff]")
# U+202A–U+202E (embeddings, overrides) and U+2066–U+2069 (isolates).
_BIDI = re.compile("[\u202a-\u202e\u2066-\u2069]")
# Letters and marks that draw nothing (Hangul fillers, the blank Braille pattern, the
# combining grapheme joiner, variation selectors): favourites for "empty" messages.
_BLANK_EXTRA = frozenset(
    "\u034f\u115f\u1160\u3164\uffa0\u2800" + "".join(chr(c) for c in range(0xFE00, 0xFE10))
)


def clean(text: str) -> str:
    """`text` with bidi controls removed and line ends as `\\n`; refuses control characters."""
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    if _CONTROL.search(text):
        raise UserError(CONTROL_REFUSAL)
    return _BIDI.sub("", text)


def _invisible(ch: str) -> bool:
    if ch.isspace() or ch in _BLANK_EXTRA:
        return True
    # Cf: zero-width space and joiners, word joiner, BOM, soft hyphen, tags…
    return unicodedata.category(ch) == "Cf" or 0xE0100 <= ord(ch) <= 0xE01EF


def is_blank(text: str) -> bool:
    """True when nothing of `text` would be visible (empty text included)."""
    return all(_invisible(ch) for ch in text)
