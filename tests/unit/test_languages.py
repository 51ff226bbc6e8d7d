"""Conversations in other languages: each language's question rules (data in questions.toml), exchanges found
by them, search in the transcript's language (both databases), subtitles that say their language, and the
optional English subtitles step."""

from __future__ import annotations

from dataclasses import replace

import pytest

import store.engine
import store.search
import store.steps
import store.transcripts
import store.videos
from operations import step_service, steps, videos
from pipeline import languages, subtitles
from pipeline.exchanges import (
    ExchangeConfig,
    find_exchanges,
    is_closing_remark,
    is_question,
    marked_exchange,
)
from pipeline.types import Segment, Transcript, Word

QUESTIONS = {
    "es": [
        "¿Qué tal estáis?",
        "Qué opinas de eso",
        "Y bueno, ¿cómo llegaste aquí",
        "Por qué lo hiciste",
        "¿Vienes mañana?",
        "Ya estaban en Madrid, ¿no?",
        "Pero cuándo empezaste",
        "De dónde eres",
    ],
    "fr": [
        "Qu'est-ce que vous en pensez",
        "Est-ce que tu viens demain",
        "Pensez-vous que ça marche",
        "Pourquoi avez-vous quitté Paris",
        "Comment ça s'est passé",
        "Alors, combien ça coûte",
        "Y a-t-il un problème",
    ],
    "de": [
        "Was machst du beruflich",
        "Hast du das gesehen",
        "Wie lange hat das gedauert",
        "Gibt es noch Fragen",
        "Und warum hast du aufgehört",
        "Kannst du das erklären",
        "Wo wohnen Sie",
    ],
    "pt": [
        "O que você acha disso",
        "Quem te ensinou",
        "Como assim",
        "Por que você saiu",
        "Qual é o seu nome",
        "Será que vai chover",
        "Onde fica a estação",
    ],
    "it": [
        "Che cosa ne pensi",
        "Cosa fai nella vita",
        "Chi te l'ha detto",
        "Come mai sei qui",
        "Dove abiti adesso",
        "Quanto costa",
        "Vuole procedere ora al pagamento?",
    ],
    "nl": [
        "Oké goed, is er een speciale gelegenheid voor de aankoop",
        "Weet u zeker dat dit genoeg is",
        "Hoe kan ik u helpen",
        "Waarom heb je dat gedaan",
    ],
    "ja": ["契約者ご本人様でいらっしゃいますか", "お 名 前 は 何 です か", "これでよろしいでしょうか。"],
}
STATEMENTS = {
    "es": [
        "Cuando llegué, no había nadie.",
        "Que yo sepa, sí.",
        "¡Qué bonito!",
        "Como te decía, fue fácil.",
        "Donde vivo hay un río.",
    ],
    "fr": [
        "Quand j'étais petit, j'habitais à Lyon.",
        "Comme je disais, c'est facile.",
        "Je pense que oui.",
        "Que je sache, non.",
    ],
    "de": [
        "Was ich meine, ist etwas anderes.",
        "Wie gesagt, das war schwer.",
        "Ich habe das gesehen.",
        "Wenn du willst, komme ich.",
    ],
    "pt": ["Quando eu cheguei, não tinha ninguém.", "Como eu disse, foi fácil.", "Que bom!", "Eu acho que sim."],
    "it": ["Quando ero piccolo vivevo a Roma.", "Perché era tardi.", "Come ho detto, è facile.", "Va bene."],
    "nl": ["Ik wil gewoon een nieuwe auto.", "Wat ik bedoel is iets anders.", "Ja, dat klopt."],
    "ja": ["はい そう です 本 人 です", "お名前をお願いいたします"],
}
CLOSING = {
    "es": "Muchas gracias, Ana.",
    "fr": "Merci beaucoup pour cette réponse.",
    "de": "Vielen Dank für das Gespräch.",
    "pt": "Muito obrigado, Carlos.",
    "it": "Grazie mille, Giovanni.",
}


@pytest.mark.parametrize(("language", "text"), [(code, text) for code, texts in QUESTIONS.items() for text in texts])
def test_each_language_asks_with_its_own_words(language, text):
    assert is_question(text, language), text


@pytest.mark.parametrize(("language", "text"), [(code, text) for code, texts in STATEMENTS.items() for text in texts])
def test_clauses_and_exclamations_do_not_ask(language, text):
    assert not is_question(text, language), text


def test_a_language_without_rules_asks_by_punctuation_alone():
    assert is_question("这是你的吗？", "zh")
    assert not is_question("这是我的", "zh")
    assert not is_question("Qué opinas de eso", "en"), "Spanish words are not English question words"


@pytest.mark.parametrize(("language", "text"), sorted(CLOSING.items()))
def test_each_language_closes_an_answer_its_own_way(language, text):
    assert is_closing_remark(text, language)
    assert not is_closing_remark(text, "en" if language != "en" else "es")


def test_every_language_with_rules_has_them_all():
    assert set(languages.languages_with_rules()) >= {"en", "es", "fr", "de", "pt", "it", "nl", "ja"}
    for code in languages.languages_with_rules():
        rules = languages.rules(code)
        asks = rules.question_words or rules.question_endings
        assert asks and rules.closing_remarks and rules.backchannels and rules.name, code
    assert languages.rules(None) == languages.rules("en"), "transcripts from before languages were English"
    assert languages.name_of("es") == "Spanish" and languages.name_of("xx") == "xx" and languages.name_of(None) == ""


def say(speaker: str, start: float, end: float, text: str) -> Segment:
    tokens = text.split()
    step = (end - start) / len(tokens)
    words = tuple(
        Word(start + i * step, start + (i + 1) * step, f" {token}", speaker=speaker) for i, token in enumerate(tokens)
    )
    return Segment(start, end, f" {text}", words, speaker)


def test_a_spanish_interview_gives_its_exchanges_with_spanish_rules():
    interview = [
        say("A", 0.0, 3.0, "Bueno, cuéntame, qué te trajo a Madrid"),
        say("B", 3.5, 9.0, "Pues el trabajo, sobre todo. Me ofrecieron un puesto en la universidad."),
        say("A", 9.2, 9.6, "Claro."),
        say("B", 9.8, 14.0, "Y la ciudad me gustaba desde hace años."),
        say("A", 14.5, 16.0, "Muchas gracias."),
        say("A", 16.5, 19.0, "Y ahora, por qué escribes en inglés"),
        say("B", 19.5, 25.0, "Porque mis lectores están fuera, en otros países."),
    ]
    spanish = ExchangeConfig(language="es")
    found = find_exchanges(interview, spanish)
    assert [(e.start, e.end, e.asker, e.answerer) for e in found] == [(0.0, 14.0, "A", "B"), (16.5, 25.0, "A", "B")]
    assert "Madrid" in found[0].question
    assert find_exchanges(interview, ExchangeConfig()) == [], "English rules hear no question here"
    assert find_exchanges(interview, replace(spanish, language="es")) == found


def test_a_hand_made_spanish_qa_takes_its_question_by_spanish_rules(client, app_conn):
    with store.engine.transaction(app_conn):
        video_id = videos.create_video(app_conn, videos.VideoRequest(url="https://example.org/entrevista"))
        store.videos.update_video(app_conn, video_id, title="Entrevista", language="es", duration=30.0)
        store.transcripts.replace_segments(
            app_conn,
            video_id,
            [
                say("A", 0.0, 2.0, "¿Vendrás a México?"),
                say("B", 2.5, 5.0, "Sí, en verano."),
                say("A", 10.0, 12.0, "Dónde vives tú."),
                say("A", 12.2, 14.0, "Yo vivo en Madrid."),
                say("B", 14.5, 19.0, "En Sevilla, con mi familia."),
            ],
        )
    made = [
        client.post(f"/api/videos/{video_id}/exchanges", json=span).get_json()["exchange"]
        for span in ({"start": 0.0, "end": 5.0}, {"start": 10.0, "end": 19.0})
    ]
    assert [(e["question"], e["asker"], e["answerer"]) for e in made] == [
        ("¿Vendrás a México?", "A", "B"),
        ("Dónde vives tú.", "A", "B"),
    ]
    english = marked_exchange(store.transcripts.get_segments(app_conn, video_id), 10.0, 19.0)
    assert english.question == "Dónde vives tú. Yo vivo en Madrid.", "English rules hear no question in it"
    trimmed = client.patch(f"/api/exchanges/{made[1]['id']}", json={"start": 10.0, "end": 18.0}).get_json()
    assert trimmed["question"] == "Dónde vives tú.", "a trim is judged in Spanish too"


# ---- search in the transcript's language ------------------------------------------------------------


def _video(conn, title: str, language: str | None, lines: list[str]) -> int:
    with store.engine.transaction(conn):
        video_id = videos.create_video(conn, videos.VideoRequest(url=f"https://example.org/{title}"))
        store.videos.update_video(conn, video_id, title=title, language=language)
        store.transcripts.replace_segments(
            conn, video_id, [Segment(10.0 * n, 10.0 * n + 8, text) for n, text in enumerate(lines)]
        )
    return video_id


def test_search_finds_words_without_their_accents_and_in_other_forms(conn):
    spanish = _video(conn, "Viaje", "es", ["Vamos a México en diciembre.", "Las canciones de mi abuela."])
    english = _video(conn, "Trip", "en", ["We answered every question about the cafe."])
    found = lambda text: sorted({hit.video_id for hit in store.search.search_segments(conn, text)})  # noqa: E731
    assert found("mexico") == [spanish], "accents are left out"
    assert found("México diciembre") == [spanish]
    assert found("canción") == [spanish], "a plural and its singular"
    assert found("answers") == [english], "English stems as before"
    if conn.dialect == "sqlite":  # PostgreSQL's configurations keep accents (its unaccent is an extension)
        assert found("café") == [english]


def test_a_transcript_is_searched_in_the_language_it_was_found_in(conn):
    video_id = _video(conn, "Later", None, ["Les chansons de ma grand-mère."])
    with store.engine.transaction(conn):
        store.videos.update_video(conn, video_id, language="fr")
    if conn.dialect == "postgresql":
        configs = {
            row[0] for row in conn.execute("SELECT search_config::text FROM segments WHERE video_id = ?", (video_id,))
        }
        assert configs == {"french"}
    assert [hit.video_id for hit in store.search.search_segments(conn, "chanson")] == [video_id]


def test_search_configurations_follow_the_language():
    assert languages.search_config("es") == "spanish" and languages.search_config(None) == "english"
    assert languages.search_config("ja") == "simple"


# ---- subtitles and English subtitles ------------------------------------------------------------------


def test_vtt_says_its_language():
    cue = subtitles.Cue(0.0, 1.0, "Hola")
    assert subtitles.to_vtt([cue], "es").startswith("WEBVTT\nLanguage: es\n\n00:00:00.000")
    assert subtitles.to_vtt([cue]).startswith("WEBVTT\n\n")
    assert subtitles.to_vtt([cue], "es\n\nNOTE").startswith("WEBVTT\nLanguage: esNOTE\n\n"), "one line, letters"


def test_english_subtitles_are_optional_and_asked_for(conn):
    video_id = _video(conn, "Entrevista", "es", ["¿Qué tal?"])
    own = {step.name: step for step in store.steps.steps_of(conn, [video_id])}
    assert own["translate"].state == steps.PENDING and steps.STEP["translate"].optional
    with store.engine.transaction(conn):
        for name in ("download", "audio", "transcribe", "diarize", "exchanges"):
            store.steps.update_step(conn, own[name].id, state=steps.DONE)
    phase1 = store.steps.steps_of(conn, [video_id])
    assert steps.video_status(phase1) == steps.DONE, "an optional step never asked for does not hold a video back"
    assert steps.weighted_progress(phase1) == 1.0
    service = step_service.StepService(conn)
    transcribed = store.steps.find_step(conn, video_id, "transcribe")
    assert "translate" not in service.ready_dependents(transcribed), "auto mode never asks for it"
    with store.engine.transaction(conn):
        store.steps.update_step(conn, own["translate"].id, state=steps.STALE)
    assert "translate" in service.ready_dependents(transcribed), "once asked, it is kept up to date"


def test_english_subtitles_are_served_with_the_speakers(client, app_conn):
    video_id = _video(app_conn, "Charla", "es", ["¿Qué tal estáis?", "Muy bien."])
    assert client.get(f"/api/videos/{video_id}/translation.srt").status_code == 404
    english = Transcript((Segment(0.0, 2.0, "How are you all?"), Segment(10.0, 11.0, "Very well.")), "es", 20.0)
    with store.engine.transaction(app_conn):
        store.transcripts.save_translation(app_conn, video_id, english)
        store.transcripts.replace_turns(app_conn, video_id, [])
    srt = client.get(f"/api/videos/{video_id}/translation.srt")
    assert srt.status_code == 200 and "How are you all?" in srt.get_data(as_text=True)
    assert (
        'filename="video-' in srt.headers["Content-Disposition"]
        and "-english.en.srt" in srt.headers["Content-Disposition"]
    )
    vtt = client.get(f"/api/videos/{video_id}/translation.vtt").get_data(as_text=True)
    assert vtt.startswith("WEBVTT\nLanguage: en\n")
    original = client.get(f"/api/videos/{video_id}/transcript.vtt")
    assert original.get_data(as_text=True).startswith("WEBVTT\nLanguage: es\n")
    assert "-transcript.es.vtt" in original.headers["Content-Disposition"]
    assert '"language": "es"' in client.get(f"/api/videos/{video_id}/transcript.json").get_data(as_text=True)


def test_the_video_page_shows_the_language_and_model_and_offers_english_subtitles(client, app_conn):
    spanish = _video(app_conn, "Charla", "es", ["¿Qué tal estáis?"])
    english = _video(app_conn, "Talk", "en", ["How are you?"])
    with store.engine.transaction(app_conn):
        store.videos.update_video(app_conn, spanish, transcript_model="base")
        store.videos.update_video(app_conn, english, transcript_model="tiny.en")
    page = client.get(f"/videos/{spanish}").get_data(as_text=True)
    assert ">Spanish</span>" in page and "Whisper base" in page and 'lang="es"' in page
    assert 'data-step="translate"' in page and "English subtitles" in page
    assert "translation-downloads" not in page, "no English subtitles yet"
    other = client.get(f"/videos/{english}").get_data(as_text=True)
    assert ">English</span>" in other and "Whisper tiny.en" in other
    assert 'data-step="translate"' not in other, "nothing to translate in English"
    with store.engine.transaction(app_conn):
        step = store.steps.find_step(app_conn, spanish, "translate")
        store.steps.update_step(app_conn, step.id, state=steps.DONE)
    assert "translation-downloads" in client.get(f"/videos/{spanish}").get_data(as_text=True)
