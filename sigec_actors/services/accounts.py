"""Account input rules: one normal form for emails (look-alikes refused) and password strength."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

import email_validator
from confusable_homoglyphs import categories, confusables
from email_validator import EmailNotValidError, validate_email
from zxcvbn import zxcvbn

from sigec_actors.errors import SigecError

MIN_PASSWORD = 10
MAX_PASSWORD = 128
# zxcvbn's own cap (its matching is superlinear: ~40 ms at 72 characters); a longer password
# is judged on its first 72 characters, which must then be strong on their own
ZXCVBN_MAX = 72
DEFAULT_MIN_SCORE = 3

# `.local` stays usable for account emails (the default first admin is admin@sigec.local);
# email-validator documents its module-level settings as changeable by library users
email_validator.SPECIAL_USE_DOMAIN_NAMES = [
    d for d in email_validator.SPECIAL_USE_DOMAIN_NAMES if d != "local"]

# control, format (zero-width, bidi), surrogate, private-use and unassigned code points
_REFUSED_CATEGORIES = {"Cc", "Cf", "Cs", "Co", "Cn"}
_WORD_SPLIT = re.compile(r"[\W_]+")


class InvalidEmail(SigecError):
    """An email that is malformed or could pass for another one (`problem` says why)."""

    def __init__(self, problem: str) -> None:
        self.problem = problem
        super().__init__(f"email {problem}")


class WeakPassword(SigecError):
    """A user password refused by the rules; `suggestions` come from zxcvbn when it judged."""

    def __init__(self, problem: str, suggestions: tuple[str, ...] = ()) -> None:
        self.problem = problem
        self.suggestions = suggestions
        super().__init__(f"password {problem}")


def normalize_email(raw: str) -> str:
    """The one stored and looked-up form of an email, or InvalidEmail.

    Refused: control/format/zero-width characters, any text NFKC would change (fullwidth
    letters, ligatures), bad syntax (email-validator, no DNS), and a local part or domain
    label that mixes scripts or is written entirely in look-alikes of ASCII letters.
    The domain comes back lower-case; compare whole addresses with `email_key`.
    """
    email = raw.strip()
    bad = next((c for c in email if unicodedata.category(c) in _REFUSED_CATEGORIES), None)
    if bad is not None:
        raise InvalidEmail(f"contains an invisible or control character (U+{ord(bad):04X})")
    if unicodedata.normalize("NFKC", email) != email:
        raise InvalidEmail("contains compatibility characters (e.g. fullwidth letters)")
    try:
        info = validate_email(email, check_deliverability=False)
    except EmailNotValidError as exc:
        raise InvalidEmail(f"is not valid: {exc}") from None
    local, _, domain = info.normalized.rpartition("@")
    for part in (local, *domain.split(".")):
        _refuse_look_alikes(part)
    return str(info.normalized)


def email_key(email: str) -> str:
    """The case-insensitive key of a normalized email (throttling and cache keys)."""
    return email.lower()


def _refuse_look_alikes(part: str) -> None:
    if confusables.is_mixed_script(part):
        raise InvalidEmail(f"mixes scripts in {part!r}")
    letters = {c for c in part if unicodedata.category(c).startswith("L")}
    if not letters or any(categories.alias(c) == "LATIN" for c in letters):
        return
    found = confusables.is_confusable(part, greedy=True, preferred_aliases=["latin"]) or []
    ascii_look_alikes = {f["character"] for f in found
                         if any(_plain_ascii(h["c"]) for h in f["homoglyphs"])}
    if ascii_look_alikes >= letters:
        raise InvalidEmail(f"{part!r} is made only of look-alikes of ASCII letters")


def _plain_ascii(glyph: str) -> bool:
    return glyph.isascii() and glyph.isalnum()


@dataclass(frozen=True)
class PasswordRules:
    """Length bounds, not only whitespace, and zxcvbn's score (0-4) of at least `min_score`."""

    min_score: int = DEFAULT_MIN_SCORE

    def check(self, password: str, user_inputs: tuple[str, ...] = ()) -> None:
        """Raise WeakPassword unless the password passes; user_inputs: email, name, ..."""
        if not MIN_PASSWORD <= len(password) <= MAX_PASSWORD:
            raise WeakPassword(f"must be {MIN_PASSWORD}-{MAX_PASSWORD} characters")
        if not password.strip():
            raise WeakPassword("must not be only whitespace")
        result = zxcvbn(password[:ZXCVBN_MAX], user_inputs=_inputs(user_inputs),
                        max_length=ZXCVBN_MAX)
        score = int(result["score"])
        if score < self.min_score:
            feedback = result["feedback"]
            warning = str(feedback.get("warning") or "easy to guess")
            raise WeakPassword(
                f"is too weak (strength {score} of 4, at least {self.min_score} needed): "
                f"{warning}", tuple(str(s) for s in feedback.get("suggestions", ())))


def _inputs(user_inputs: tuple[str, ...]) -> list[str]:
    """The user's own words: each given string and its parts (name words, email labels)."""
    words: list[str] = []
    for value in user_inputs:
        words.extend([value, *_WORD_SPLIT.split(value)])
    return [w for w in words if w]
