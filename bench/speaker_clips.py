"""Speaker clips on real conversations: whole turns, ending at sentence ends, no duplicates.

For each recording of the dev set (../shared/devset/ and pyannote.audio's bundled sample) it runs the
analysis as `bench/quality.py` does (ffmpeg, faster-whisper, senko, speaker alignment, exchange finding,
the app's default settings), then plans the clips of every exchange found, and of every exchange labelled
by hand in truth.json (as a Q&A marked by hand in the app), and of every found exchange's answer alone
(a one-speaker Q&A marked by hand), exactly as the define_clips step does. It prints per recording:

- exchanges and speaker clips;
- fragments: a speaker clip that follows one of the same speaker with nobody else speaking in between
  (more than BACKCHANNEL_WORDS words, or for BACKCHANNEL_SECONDS), not counting the parts of a turn
  split for CLIP_MAX_DURATION_SECONDS;
- speaker clips that end mid-sentence (their last word does not end with . ? ! or …);
- speaker clips with no lead-in (they start on their first word's start, or later);
- duplicates: a speaker clip within 0.1 s of the whole-exchange clip or of another clip, at both ends;
- the shortest and longest speaker clip.

    .venv/bin/python bench/speaker_clips.py [--cache analysis.json] [--planner other_clips.py] [--show]

`--cache` keeps the analysis in a JSON file (made on the first run, read on later ones), so two planners
are compared on the same transcript; `--planner` plans with another version of `pipeline/clips.py`,
for example the one before a change: `git show HEAD:pipeline/clips.py > /tmp/clips_before.py`.
`--show` prints every speaker clip with its first and last words. Not part of `make test`.
"""

from __future__ import annotations

import argparse
import importlib.util
import itertools
import json
import sys
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path
from types import ModuleType, SimpleNamespace

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.quality import Recording, ignore, recordings
from bench.report import RESULT_PREFIX
from config import ROOT, load_settings
from pipeline import clips as current_planner
from pipeline import media, transcription
from pipeline.alignment import assign_speakers
from pipeline.diarization import diarize
from pipeline.exchanges import find_exchanges
from pipeline.types import Segment, Word, transcript_from_dict
from tasks.options import clip_limits, diarization_options, exchange_config, transcription_options

SAME = 0.1  # clips whose both ends are this close are the same clip
BACKCHANNEL_SECONDS, BACKCHANNEL_WORDS = 1.0, 2  # another speaker saying no more than this does not split a turn
SENTENCE_END = (".", "?", "!", "…")
CLOSING = "\"'”’)]»"


@dataclass
class Analysis:
    """What the planning needs of a recording: the speaker-labelled transcript and the exchanges in it."""

    segments: list[Segment]
    duration: float
    found: list[tuple[float, float, str]]  # start, end, question
    by_hand: list[tuple[float, float]]


@dataclass
class Tally:
    exchanges: int = 0
    speaker_clips: int = 0
    fragments: int = 0
    mid_sentence: int = 0
    no_lead_in: int = 0
    duplicates: int = 0
    shortest: float | None = None
    longest: float | None = None

    def add(self, durations: list[float]) -> None:
        if durations:
            self.shortest = min([*durations, self.shortest or float("inf")])
            self.longest = max([*durations, self.longest or 0.0])


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--devset", type=Path, default=ROOT.parent / "shared" / "devset")
    parser.add_argument("--cache", type=Path, help="analysis JSON: written when missing, read when present")
    parser.add_argument("--planner", type=Path, help="another clips.py to plan with (default: the current one)")
    parser.add_argument("--only", nargs="+", help="recordings to run (file names)")
    parser.add_argument("--show", action="store_true", help="print every speaker clip")
    return parser.parse_args()


def load_planner(path: Path | None) -> ModuleType:
    if path is None:
        return current_planner
    spec = importlib.util.spec_from_file_location("planner_under_test", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while the class is made
    spec.loader.exec_module(module)
    return module


# ---- analysis ----------------------------------------------------------------------------------


def analyse(recording: Recording, settings, workdir: Path) -> Analysis:
    ffmpeg = media.ffmpeg_binary(settings.ffmpeg_path)
    wav = media.extract_audio(recording.path, workdir / f"{recording.path.stem}.wav", ffmpeg)
    transcript = transcription.transcribe(wav, ignore, transcription_options(settings))
    turns = diarize(wav, ignore, diarization_options(settings))
    segments = assign_speakers(transcript.segments, turns)
    found = [(e.start, e.end, e.question) for e in find_exchanges(segments, exchange_config(settings))]
    return Analysis(segments, transcript.duration, found, [tuple(s) for s in recording.exchanges or []])


def analyses(chosen: list[Recording], settings, cache: Path | None) -> dict[str, Analysis]:
    if cache and cache.is_file():
        stored = json.loads(cache.read_text())
        return {r.name: _from_json(stored[r.name]) for r in chosen if r.name in stored}
    done = {}
    with tempfile.TemporaryDirectory(prefix="speaker-clips-") as folder:
        for recording in chosen:
            done[recording.name] = analyse(recording, settings, Path(folder))
            print(f"{recording.name}: analysed", file=sys.stderr, flush=True)
    if cache:
        cache.write_text(json.dumps({name: _to_json(a) for name, a in done.items()}))
    return done


def _to_json(analysis: Analysis) -> dict:
    return {
        "segments": [asdict(s) for s in analysis.segments],
        "duration": analysis.duration,
        "found": analysis.found,
        "by_hand": analysis.by_hand,
    }


def _from_json(data: dict) -> Analysis:
    transcript = transcript_from_dict({"segments": data["segments"], "duration": data["duration"]})
    found = [tuple(item) for item in data["found"]]
    return Analysis(list(transcript.segments), data["duration"], found, [tuple(s) for s in data["by_hand"]])


# ---- planning and counting ---------------------------------------------------------------------


def plan_exchange(planner: ModuleType, analysis: Analysis, start: float, end: float, limits):
    """The clips of one exchange, as the label_speakers and define_clips steps make them."""
    spans = planner.speaker_segments(analysis.segments, start, end)
    words = [word for segment in analysis.segments for word in segment.words]
    limits = SimpleNamespace(**asdict(limits), max_merge_gap=2.0)  # what the planner before issue 25 also read
    try:
        return planner.define_clips(spans, words, start, end, limits, media_duration=analysis.duration).clips
    except planner.ClipError:
        return []


def words_in(words: list[Word], start: float, end: float) -> list[Word]:
    return [w for w in words if start <= (w.start + w.end) / 2 <= end]


def ends_sentence(word: Word) -> bool:
    return word.text.strip().rstrip(CLOSING).endswith(SENTENCE_END)


def duplicates(clips) -> int:
    """Clips the same as an earlier one (the whole exchange comes first) within SAME at both ends."""
    count = 0
    for i, clip in enumerate(clips):
        if any(abs(clip.start - o.start) <= SAME and abs(clip.end - o.end) <= SAME for o in clips[:i]):
            count += 1
    return count


def fragments(speaker_clips, words: list[Word]) -> int:
    """Speaker clips that continue the previous clip's speaker with nobody else really speaking between."""
    count, ordered = 0, sorted(speaker_clips, key=lambda clip: clip.start)
    for before, after in itertools.pairwise(ordered):
        if before.speaker != after.speaker or (after.note or "").startswith("part "):
            continue
        others = [w for w in words_in(words, before.end, after.start) if w.speaker != before.speaker]
        heard = others[-1].end - others[0].start if others else 0.0
        count += len(others) <= BACKCHANNEL_WORDS and heard < BACKCHANNEL_SECONDS
    return count


def count(clips, words: list[Word], tally: Tally, show: bool) -> None:
    tally.exchanges += 1
    tally.duplicates += duplicates(clips)
    speaker = [clip for clip in clips if clip.kind == "speaker"]
    tally.speaker_clips += len(speaker)
    tally.add([clip.duration for clip in speaker])
    tally.fragments += fragments(speaker, words)
    for clip in speaker:
        inside = words_in(words, clip.start, clip.end)
        mid = bool(inside) and not ends_sentence(inside[-1])
        cut_in = bool(inside) and clip.start >= inside[0].start
        tally.mid_sentence += mid
        tally.no_lead_in += cut_in
        if show:
            text = " ".join(w.text.strip() for w in inside)
            text = text if len(text) <= 90 else f"{text[:40]} … {text[-45:]}"
            flags = ("MID " if mid else "") + ("CUT-IN " if cut_in else "")
            print(f"    {clip.start:7.2f}–{clip.end:7.2f} {clip.speaker or '':<11} {flags:<14}{text}")


COUNTS = ("exchanges", "speaker_clips", "fragments", "mid_sentence", "no_lead_in", "duplicates")


def report(title: str, tallies: dict[str, Tally]) -> list[list]:
    print(f"\n{title}")
    columns = [name.replace("_", " ") for name in COUNTS] + ["shortest", "longest"]
    print(f"{'recording':<26} " + " ".join(f"{c:>13}" for c in columns))
    total = Tally()
    for tally in tallies.values():
        for key in COUNTS:
            setattr(total, key, getattr(total, key) + getattr(tally, key))
        total.add([d for d in (tally.shortest, tally.longest) if d is not None])
    rows = []
    for name, tally in [*tallies.items(), ("total", total)]:
        seconds = [None if v is None else round(v, 2) for v in (tally.shortest, tally.longest)]
        rows.append([name, *(getattr(tally, key) for key in COUNTS), *seconds])
        shown = [f"{v:.1f} s" if v is not None else "—" for v in seconds]
        print(f"{name:<26} " + " ".join(f"{v:>13}" for v in [*rows[-1][1 : 1 + len(COUNTS)], *shown]))
    return rows


def answers_alone(analysis: Analysis, words: list[Word]) -> list[tuple[float, float, str]]:
    """Each found exchange's answer on its own, from the first word after the question by someone else."""
    alone = []
    for start, end, question in analysis.found:
        inside = words_in(words, start, end)
        answer = next((w for w in inside if inside and w.speaker != inside[0].speaker), None)
        if answer is not None and end - answer.start > 0:
            alone.append((answer.start, end, question))
    return alone


def main() -> int:
    args = parse_args()
    if not (args.devset / "truth.json").is_file():
        print(f"no dev set at {args.devset}: pass --devset", file=sys.stderr)
        return 2
    settings = load_settings({"FLASK_SECRET_KEY": "speaker-clips", "DATA_DIR": tempfile.gettempdir()})
    planner, limits = load_planner(args.planner), clip_limits(settings)
    chosen = [r for r in recordings(args.devset) if not args.only or r.name in args.only]
    groups: dict[str, dict[str, Tally]] = {"found": {}, "by hand": {}, "answer alone": {}}
    for name, analysis in analyses(chosen, settings, args.cache).items():
        words = sorted((w for s in analysis.segments for w in s.words), key=lambda w: w.start)
        marked = [(s, e, "") for s, e in analysis.by_hand]
        for group, exchanges in zip(groups, (analysis.found, marked, answers_alone(analysis, words)), strict=True):
            tally = groups[group].setdefault(name, Tally())
            for start, end, question in exchanges:
                if args.show:
                    print(f"{name} {group} exchange {start:.2f}–{end:.2f} {question[:60]!r}")
                count(plan_exchange(planner, analysis, start, end, limits), words, tally, args.show)
    planner_name = str(args.planner or "pipeline/clips.py")
    titles = {
        "found": "the exchanges found",
        "by hand": "the exchanges labelled by hand in truth.json",
        "answer alone": "each found exchange's answer marked alone by hand (one speaker)",
    }
    rows = {
        group: report(f"Speaker clips of {titles[group]} ({planner_name})", tallies)
        for group, tallies in groups.items()
    }
    print(
        RESULT_PREFIX
        + json.dumps({"script": "speaker_clips", "planner": planner_name, "columns": COUNTS, "rows": rows})
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
