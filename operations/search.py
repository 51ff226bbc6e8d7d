"""Search across every transcript: the sentences that match, who said them, where and in which Q&A."""

from __future__ import annotations

import re
from typing import Any

import store.search
import store.transcripts
import store.videos
from operations import lookup, presenters
from operations.unit_of_work import UnitOfWork
from pipeline.exchanges import ExchangeConfig, sentence_around

SENTENCE_REACH_SECONDS = 30.0  # how far around a matching segment its sentence is looked for


def term_pattern(query: str) -> re.Pattern | None:
    """The searched words as a pattern that finds them in any form, as the search stems them: a word of
    4 letters or more by its first letters ("answer" in "answered"), a shorter one only whole."""
    words = {word.lower() for term in store.search.search_terms(query) for word in term.split()}
    if not words:
        return None
    alternatives = "|".join(
        re.escape(word[: max(3, len(word) - 2)]) + r"\w*" if len(word) >= 4 else re.escape(word) + r"\b"
        for word in sorted(words, key=len, reverse=True)
    )
    return re.compile(rf"\b(?:{alternatives})", re.IGNORECASE)


def search(uow: UnitOfWork, text: str, **filters: Any) -> list[dict[str, Any]]:
    """Search hits as the API and the Search page show them: the sentence (a matching Whisper segment
    widened or narrowed to whole sentences, by punctuation and pauses), who said it, in which video, when,
    and the Q&A that holds it (to cut it), if any. Two segments of one sentence make one hit."""
    conn = uow.conn
    pattern = term_pattern(text)

    def matches(said: str) -> bool:
        return bool(pattern and pattern.search(said))

    found, seen, configs = [], set(), {}
    for hit in store.search.search_segments(conn, text, **filters):
        around = store.transcripts.segments_between(
            conn, hit.video_id, hit.start_time - SENTENCE_REACH_SECONDS, hit.end_time + SENTENCE_REACH_SECONDS
        )
        if hit.video_id not in configs:  # its sentences are read by its language's rules
            configs[hit.video_id] = ExchangeConfig(language=lookup.existing_video(conn, hit.video_id).language)
        sentence = sentence_around(around, hit.start_time, hit.end_time, matches, configs[hit.video_id])
        start, end, said = (
            (sentence.start, sentence.end, sentence.text) if sentence else (hit.start_time, hit.end_time, hit.text)
        )
        if (hit.video_id, round(start, 2)) in seen:
            continue
        seen.add((hit.video_id, round(start, 2)))
        exchange = store.search.exchange_at(conn, hit.video_id, start, end)
        found.append(
            {
                "segment_id": hit.segment_id,
                "video_id": hit.video_id,
                "video_title": hit.video_title,
                "video_added": hit.video_created_at,
                "start": start,
                "end": end,
                "text": said,
                "speaker": hit.speaker,
                "speaker_name": hit.speaker_name
                or (presenters.speaker_placeholder(hit.speaker) if hit.speaker else None),
                "person_id": hit.person_id,
                "exchange": {
                    "id": exchange.id,
                    "label": exchange.label,
                    "title": presenters.exchange_title(exchange.label),
                }
                if exchange
                else None,
            }
        )
    return found
