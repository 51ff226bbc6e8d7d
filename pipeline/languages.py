"""Languages: how each one asks a question and closes an answer (`questions.toml`, data rather than code per
language), their names for people, and the search configuration each gets in PostgreSQL.

`rules(code)` gives the rules for a Whisper language code; no code (transcripts from before languages were
told apart, which were all English) means English, and a language without rules gets punctuation alone.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

RULES_FILE = Path(__file__).with_name("questions.toml")
ENGLISH = "en"

# Names of the languages Whisper most often finds, for the video page; others show their code.
NAMES = {
    "en": "English",
    "es": "Spanish",
    "fr": "French",
    "de": "German",
    "pt": "Portuguese",
    "it": "Italian",
    "nl": "Dutch",
    "ja": "Japanese",
    "zh": "Chinese",
    "ko": "Korean",
    "ru": "Russian",
    "uk": "Ukrainian",
    "pl": "Polish",
    "tr": "Turkish",
    "ar": "Arabic",
    "hi": "Hindi",
    "sv": "Swedish",
    "da": "Danish",
    "no": "Norwegian",
    "fi": "Finnish",
    "cs": "Czech",
    "el": "Greek",
    "he": "Hebrew",
    "ca": "Catalan",
    "ro": "Romanian",
    "hu": "Hungarian",
    "id": "Indonesian",
    "vi": "Vietnamese",
    "th": "Thai",
}

# PostgreSQL's text search configuration for each language it stems; every other language is searched
# word for word ('simple').
SEARCH_CONFIGS = {
    "en": "english",
    "es": "spanish",
    "fr": "french",
    "de": "german",
    "pt": "portuguese",
    "it": "italian",
    "nl": "dutch",
    "ru": "russian",
    "sv": "swedish",
    "da": "danish",
    "no": "norwegian",
    "fi": "finnish",
    "hu": "hungarian",
    "ro": "romanian",
    "tr": "turkish",
}
SIMPLE_SEARCH = "simple"

Phrase = tuple[str, ...]


@dataclass(frozen=True)
class Language:
    """One language's rules for questions, backchannels and closing remarks (see `questions.toml`)."""

    code: str
    name: str
    question_words: frozenset[Phrase] = frozenset()
    not_after: frozenset[str] = frozenset()
    not_after_word: dict[str, frozenset[str]] = field(default_factory=dict)
    inverted_verbs: frozenset[str] = frozenset()
    subjects: frozenset[str] = frozenset()
    not_inverted: dict[str, frozenset[str]] = field(default_factory=dict)
    inversion_suffixes: tuple[str, ...] = ()
    question_endings: tuple[str, ...] = ()
    agreement: re.Pattern | None = None
    fillers: frozenset[str] = frozenset()
    filler_phrases: tuple[Phrase, ...] = ()
    opening_question_mark: str = ""
    opening_exclamation: str = ""
    closing_remarks: tuple[str, ...] = ()
    backchannels: tuple[str, ...] = ()

    @property
    def longest_question(self) -> int:
        return max((len(phrase) for phrase in self.question_words), default=0)


def name_of(code: str | None) -> str:
    """A language's name for people ("Spanish"), its code when unnamed, "" when unknown."""
    return NAMES.get(code or "", code or "")


def search_config(code: str | None) -> str:
    """PostgreSQL's text search configuration for a transcript in this language (no language: English)."""
    return SEARCH_CONFIGS.get(code or ENGLISH, SIMPLE_SEARCH)


def rules(code: str | None) -> Language:
    """The rules for a Whisper language code; English without one, punctuation alone for an unknown one."""
    code = (code or ENGLISH).lower()
    return _all_rules().get(code) or Language(code, name_of(code), backchannels=_all_rules()[ENGLISH].backchannels)


def languages_with_rules() -> tuple[str, ...]:
    return tuple(_all_rules())


def words_of(text: str) -> Phrase:
    """A phrase of the data as the tokens it is matched against."""
    return tuple(text.lower().split())


@cache
def _all_rules() -> dict[str, Language]:
    with RULES_FILE.open("rb") as handle:
        data = tomllib.load(handle)
    return {code: _language(code, table) for code, table in data.items()}


def _language(code: str, table: dict) -> Language:
    words = lambda key: frozenset(table.get(key, ()))  # noqa: E731
    per_word = lambda key: {word: frozenset(after) for word, after in table.get(key, {}).items()}  # noqa: E731
    return Language(
        code=code,
        name=table.get("name", name_of(code)),
        question_words=frozenset(words_of(phrase) for phrase in table.get("question_words", ())),
        not_after=words("not_after"),
        not_after_word=per_word("not_after_word"),
        inverted_verbs=words("inverted_verbs"),
        subjects=words("subjects"),
        not_inverted=per_word("not_inverted"),
        inversion_suffixes=tuple(table.get("inversion_suffixes", ())),
        question_endings=tuple(table.get("question_endings", ())),
        agreement=_agreement(table.get("agreement", ()), table),
        fillers=words("fillers"),
        filler_phrases=tuple(words_of(phrase) for phrase in table.get("filler_phrases", ())),
        opening_question_mark=table.get("opening_question_mark", ""),
        opening_exclamation=table.get("opening_exclamation", ""),
        closing_remarks=tuple(table.get("closing_remarks", ())),
        backchannels=tuple(table.get("backchannels", ())),
    )


def _agreement(openings: list[str], table: dict) -> re.Pattern | None:
    """ "So do I", "and so did we, very much": an opening, an inverted verb and a subject, and nothing more
    of the sentence, agree rather than ask."""
    if not openings:
        return None
    either = lambda items: "|".join(re.escape(item) for item in sorted(items))  # noqa: E731
    opening = "|".join(r"\s+".join(map(re.escape, o.split())) for o in sorted(openings, key=len, reverse=True))
    verbs, subjects = either(table.get("inverted_verbs", ())), either(table.get("subjects", ()))
    return re.compile(rf"\W*(?:{opening})\s+(?:{verbs})\s+(?:{subjects})\s*(?:[,.!;]|$)")
