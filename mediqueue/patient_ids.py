"""One spelling per patient id, as far as Unicode lets us say so.

Staff find a patient by their id, so two ids that look alike must be one id or not exist:

- NFKC normalisation: full-width letters, ligatures, a no-break space, a decomposed "é"
  become the plain spelling, so they are the same patient as "alice" (and cannot take a second
  seat of a slot);
- invisible characters are refused: format characters (zero-width spaces and joiners, the BOM,
  the soft hyphen), the bidirectional controls that reorder what is shown, and the rest of
  Unicode's default-ignorable code points (variation selectors, Hangul fillers, tags);
- mixed scripts are refused: an id's letters come from one script, as Unicode's "highly
  restrictive" profile (UTS #39) has it, so a Cyrillic or a Greek "a" among Latin letters
  is refused. Latin may go with Han, Hiragana and Katakana (Japanese), with Han and Bopomofo,
  or with Han and Hangul (Korean), as those languages are written.

What is left, on purpose: an id written wholly in another script ("иван-7", "山田たろう") is
accepted, so a clinic's patients can use their own names, and a whole-script look-alike (an id
made only of Cyrillic letters that look Latin) therefore remains possible. Refusing those would
need a confusables table and would refuse real names; verified mode
(MEDIQUEUE_PATIENT_AUTH=oidc), where the id is the identity provider's subject, is the control
for a clinic that needs ids nobody can imitate (docs/security.md).
"""

from __future__ import annotations

import unicodedata

# Unicode's Default_Ignorable_Code_Point (DerivedCoreProperties.txt), beyond the format
# characters (category Cf) refused anyway: shown as nothing, so an id with one looks like one
# without.
_DEFAULT_IGNORABLE = (
    (0x034F, 0x034F),  # combining grapheme joiner
    (0x115F, 0x1160),  # Hangul fillers
    (0x17B4, 0x17B5),
    (0x180B, 0x180F),  # Mongolian variation selectors
    (0x3164, 0x3164),  # Hangul filler
    (0xFE00, 0xFE0F),  # variation selectors
    (0xFFA0, 0xFFA0),  # half-width Hangul filler
    (0xFFF0, 0xFFF8),
    (0x1BCA0, 0x1BCA3),
    (0x1D173, 0x1D17A),
    (0xE0000, 0xE0FFF),  # tags and variation selectors supplement
)
# Control, format (invisible, bidi), surrogate, private use, unassigned, line and paragraph
# separators.
_REFUSED_CATEGORIES = {"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"}

# Scripts that are written together; any other mix of scripts is refused.
_HAN = "CJK"
_WRITTEN_TOGETHER = (
    frozenset({"LATIN", _HAN, "HIRAGANA", "KATAKANA"}),
    frozenset({"LATIN", _HAN, "BOPOMOFO"}),
    frozenset({"LATIN", _HAN, "HANGUL"}),
)
_SCRIPT_ALIASES = {"KATAKANA-HIRAGANA": "KATAKANA", "HALFWIDTH": "KATAKANA"}

INVISIBLE = "Must not contain invisible, formatting or text-direction characters."
MIXED_SCRIPTS = "Must not mix letters of different scripts (such as Latin and Cyrillic)."


def normalised(value: str) -> str:
    return unicodedata.normalize("NFKC", value)


def spelling_problem(value: str) -> str | None:
    """Why ``value`` (normalised already) cannot be a patient id, or None."""
    if value.isascii():
        # Nearly every id: the only invisible ASCII characters are the controls, and ASCII's
        # letters are all Latin. Checked character by character, an id cost a booking ~90 µs.
        return None if value.isprintable() else INVISIBLE
    if any(_is_invisible(character) for character in value):
        return INVISIBLE
    scripts = {_script(c) for c in value if unicodedata.category(c).startswith("L")}
    if len(scripts) > 1 and not any(scripts <= allowed for allowed in _WRITTEN_TOGETHER):
        return MIXED_SCRIPTS
    return None


def _is_invisible(character: str) -> bool:
    if unicodedata.category(character) in _REFUSED_CATEGORIES:
        return True
    point = ord(character)
    return any(low <= point <= high for low, high in _DEFAULT_IGNORABLE)


def _script(letter: str) -> str:
    """A letter's script, from its Unicode name ("CYRILLIC SMALL LETTER A"): the first word
    names the script for every letter left after NFKC."""
    first = unicodedata.name(letter, "UNKNOWN").split(" ", 1)[0]
    return _SCRIPT_ALIASES.get(first, first)
