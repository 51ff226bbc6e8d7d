"""Where a vertical clip looks, frame by frame: follow whoever is talking, as a camera operator would.

Pure functions on plain values: `faces.analyse` turns pictures into a `Footage` (faces per sampled frame,
shot changes), and everything here decides from it and the diarized turns.

1. `track_faces`: faces joined into tracks within each shot; `identities` links a person's tracks across
   shots by the colours under their face (clothes).
2. `speaker_identities`: each diarization label tied to the person whose mouth moves in time with the
   sound while that label talks, and more than while it is silent, over the whole clip (one assignment,
   so a label never hops between faces).
3. `plan`: one view per output frame. The crop holds still while one person talks, eases (0.4 s) to the
   next speaker, cuts with the shot, ignores interjections shorter than `min_hold`, stays put when the
   new speaker is already well inside, and follows a speaker who walks off only slowly
   (`max_drift_px` a frame). It goes to the next speaker in the pause before their first word
   (`lead_in`). Two people trading short turns get a split layout, stacked halves, instead of
   whip-pans, and so do stretches where the picture contradicts the labels (another face's mouth moves
   clearly more than the one shown: a late turn edge, a swapped label); no face at all gives the whole
   picture over a blurred copy of itself (or a centred crop).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from statistics import median

import numpy as np

from pipeline.types import Turn

FRAMINGS = ("follow", "fixed", "split")  # what a clip's options may ask for; "follow" is the default
ONE, TWO, FULL = "one", "two", "full"  # layouts: a 9:16 crop, two stacked 9:8 crops, the whole picture


# ---- what the pictures say ----------------------------------------------------------------------


@dataclass(frozen=True)
class FaceBox:
    """A face in one analysed frame; coordinates are fractions of the picture's width and height."""

    x1: float
    y1: float
    x2: float
    y2: float
    score: float = 1.0
    mouth: float = 0.0  # how much the mouth moves, beyond the head's own motion (the mean of `motion`)
    look: tuple[float, ...] = ()  # a colour histogram of the clothes under the face (who it is)
    motion: tuple[float, ...] = ()  # the mouth's motion at each frame from this sample to the next one

    @property
    def cx(self) -> float:
        return (self.x1 + self.x2) / 2

    @property
    def cy(self) -> float:
        return (self.y1 + self.y2) / 2

    @property
    def width(self) -> float:
        return self.x2 - self.x1

    @property
    def height(self) -> float:
        return self.y2 - self.y1


@dataclass(frozen=True)
class Frame:
    t: float  # seconds from the clip's start
    faces: tuple[FaceBox, ...]
    loudness: tuple[float, ...] = ()  # the sound's level at each frame from this sample to the next


@dataclass(frozen=True)
class Footage:
    """A clip's picture as `faces.analyse` saw it."""

    width: int
    height: int
    fps: float
    duration: float
    frames: tuple[Frame, ...]
    cuts: tuple[float, ...] = ()  # shot changes, seconds from the clip's start

    def shot(self, t: float) -> int:
        return sum(1 for cut in self.cuts if cut <= t)


@dataclass(frozen=True)
class Track:
    """One face followed through one shot."""

    id: int
    shot: int
    times: tuple[float, ...]
    boxes: tuple[FaceBox, ...]

    @property
    def start(self) -> float:
        return self.times[0]

    @property
    def end(self) -> float:
        return self.times[-1]

    def box_at(self, t: float, tolerance: float = 0.5) -> FaceBox | None:
        """The box at `t`, interpolated between samples; None outside the track (plus `tolerance`)."""
        if t < self.start - tolerance or t > self.end + tolerance:
            return None
        index = int(np.searchsorted(self.times, t))
        if index <= 0:
            return self.boxes[0]
        if index >= len(self.times):
            return self.boxes[-1]
        t0, t1 = self.times[index - 1], self.times[index]
        a, b = self.boxes[index - 1], self.boxes[index]
        if t1 - t0 > 2 * tolerance:  # a long gap: the face was lost; do not invent where it went
            return a if t - t0 <= tolerance else (b if t1 - t <= tolerance else None)
        w = (t - t0) / (t1 - t0) if t1 > t0 else 0.0
        return replace(a, **{k: getattr(a, k) * (1 - w) + getattr(b, k) * w for k in ("x1", "y1", "x2", "y2")})


# ---- shots ------------------------------------------------------------------------------------------


def shot_changes(
    times: Sequence[float],
    thumbs: Sequence[np.ndarray],
    level: float = 3.0,
    ratio: float = 2.0,
    reach: int = 6,
    share: float = 0.3,
    rows: int = 3,
    min_shot: float = 0.5,
) -> tuple[float, ...]:
    """Where the picture jumps to another shot: a cut, a jump cut, a digital punch-in or out. Each cell of a
    6×8 grid over a grey thumbnail "breaks" when it changes from the frame before by more than `level` (of
    255, less the whole picture's brightness step: exposure) and by more than `ratio` times its largest
    change over the `reach` frames either side: a gesture, a panning camera or the jerk of a frame-rate
    conversion moves as much nearby, a cut does not. A shot change breaks `share` of the cells, across
    `rows` rows of the grid or more (a new caption breaks one band), at a peak; shots last `min_shot` s."""
    if len(thumbs) < 2:
        return ()
    steps = _cell_changes(np.stack([np.asarray(thumb, dtype=np.float32) for thumb in thumbs]))
    padded = np.pad(steps, ((reach, reach), (0, 0), (0, 0)))
    nearby = np.zeros_like(steps)
    for k in range(1, reach + 1):
        nearby = np.maximum(
            nearby, np.maximum(padded[reach - k : len(padded) - reach - k], padded[reach + k : len(padded) - reach + k])
        )
    broken = (steps > level) & (steps > ratio * nearby)
    score = np.where((broken.sum(axis=2) >= 2).sum(axis=1) >= rows, broken.mean(axis=(1, 2)), 0.0)
    cuts: list[tuple[float, float]] = []  # (time, score)
    for i in range(1, len(score)):
        if score[i] < share or score[i] < score[i - 1] or (i + 1 < len(score) and score[i] < score[i + 1]):
            continue
        if cuts and times[i] - cuts[-1][0] < min_shot:
            if score[i] > cuts[-1][1]:
                cuts[-1] = (float(times[i]), float(score[i]))
            continue
        cuts.append((float(times[i]), float(score[i])))
    return tuple(t for t, _ in cuts)


def _cell_changes(stack: np.ndarray, grid: tuple[int, int] = (6, 8)) -> np.ndarray:
    """Per frame and grid cell, the mean absolute change from the frame before (0 for the first frame), less
    the picture's median change: a uniform step of brightness is the exposure, not the scene."""
    signed = np.diff(stack, axis=0)
    signed -= np.median(signed.reshape(len(signed), -1), axis=1)[:, None, None]
    h, w = stack.shape[1] // grid[0] * grid[0], stack.shape[2] // grid[1] * grid[1]
    np.abs(signed, out=signed)
    cells = signed[:, :h, :w].reshape(len(signed), grid[0], h // grid[0], grid[1], w // grid[1])
    return np.concatenate([np.zeros((1, *grid), dtype=np.float32), cells.mean(axis=(2, 4))])


# ---- faces into tracks, tracks into people -------------------------------------------------------


def track_faces(footage: Footage, max_gap: float = 1.0, min_seconds: float = 0.5) -> list[Track]:
    """Faces joined frame to frame within a shot by overlap (or nearness, for small fast faces); a track
    seen for less than `min_seconds` (a hand, a face in a crowd passing by) is dropped."""
    open_tracks: list[dict] = []
    done: list[dict] = []
    for frame in footage.frames:
        shot = footage.shot(frame.t)
        still: list[dict] = []
        for track in open_tracks:
            (still if track["shot"] == shot and frame.t - track["times"][-1] <= max_gap else done).append(track)
        open_tracks = still
        taken: set[int] = set()
        pairs = sorted(
            (
                (_likeness(track["boxes"][-1], face), t_index, f_index)
                for t_index, track in enumerate(open_tracks)
                for f_index, face in enumerate(frame.faces)
            ),
            reverse=True,
        )
        used_faces: set[int] = set()
        for likeness, t_index, f_index in pairs:
            if likeness <= 0 or t_index in taken or f_index in used_faces:
                continue
            taken.add(t_index)
            used_faces.add(f_index)
            open_tracks[t_index]["times"].append(frame.t)
            open_tracks[t_index]["boxes"].append(frame.faces[f_index])
        for f_index, face in enumerate(frame.faces):
            if f_index not in used_faces:
                open_tracks.append({"shot": shot, "times": [frame.t], "boxes": [face]})
    done.extend(open_tracks)
    kept = [
        track for track in done if len(track["times"]) >= 2 and track["times"][-1] - track["times"][0] >= min_seconds
    ]
    kept.sort(key=lambda track: (track["times"][0], track["boxes"][0].cx))
    return [Track(i, t["shot"], tuple(t["times"]), tuple(t["boxes"])) for i, t in enumerate(kept)]


def _likeness(a: FaceBox, b: FaceBox) -> float:
    """Overlap of two boxes, or failing that closeness of their centres (in face widths), 0 when apart."""
    iw = min(a.x2, b.x2) - max(a.x1, b.x1)
    ih = min(a.y2, b.y2) - max(a.y1, b.y1)
    if iw > 0 and ih > 0:
        shared = iw * ih
        return 1.0 + shared / (a.width * a.height + b.width * b.height - shared)
    size = max(a.width, b.width, 1e-6)
    distance = math.hypot(a.cx - b.cx, a.cy - b.cy) / size
    return max(0.0, 1.0 - distance)


def identities(tracks: Sequence[Track], min_likeness: float = 0.75, max_shift: float = 0.12) -> dict[int, int]:
    """Track id → person id. Tracks are one person when their clothes' colours match (across shots), when
    one shot follows the other with the same faces in the same order, each within `max_shift` of the
    picture's width of where it was (a digital punch-in, the same camera after a cutaway), or when a face
    lost for a moment is found again where it was; never when that would put one person twice in the same
    picture."""
    person = {track.id: track.id for track in tracks}
    looks = {track.id: _mean_look(track) for track in tracks}
    pairs = sorted(
        (
            (_histogram_likeness(looks[a.id], looks[b.id]), a, b)
            for i, a in enumerate(tracks)
            for b in tracks[i + 1 :]
            if a.shot != b.shot
        ),
        key=lambda item: -item[0],
    )
    pairs = [(2.0, a, b) for a, b in _same_places(tracks, max_shift) + _found_again(tracks, max_shift)] + pairs
    for likeness, a, b in pairs:
        if likeness < min_likeness:
            break
        pa, pb = person[a.id], person[b.id]
        if pa == pb:
            continue
        members_a = [t for t in tracks if person[t.id] == pa]
        members_b = [t for t in tracks if person[t.id] == pb]
        if any(_overlap(x, y) for x in members_a for y in members_b):
            continue
        for track in members_b:
            person[track.id] = pa
    return person


def _same_places(tracks: Sequence[Track], max_shift: float) -> list[tuple[Track, Track]]:
    """Track pairs across each change of shot where the faces before and after line up one to one."""
    pairs: list[tuple[Track, Track]] = []
    for shot in sorted({track.shot for track in tracks})[:-1]:
        ending = [t for t in tracks if t.shot == shot and _long(t)]
        starting = [t for t in tracks if t.shot == shot + 1 and _long(t)]
        if not ending or not starting:
            continue
        last, first = max(t.end for t in ending), min(t.start for t in starting)
        before = sorted((t for t in ending if t.end >= last - 1.0), key=lambda t: t.boxes[-1].cx)
        after = sorted((t for t in starting if t.start <= first + 1.0), key=lambda t: t.boxes[0].cx)
        lined_up = before and len(before) == len(after)
        if lined_up and all(
            abs(a.boxes[-1].cx - b.boxes[0].cx) <= max_shift for a, b in zip(before, after, strict=True)
        ):
            pairs.extend(zip(before, after, strict=True))
    return pairs


def _found_again(tracks: Sequence[Track], max_shift: float, max_gap: float = 3.0) -> list[tuple[Track, Track]]:
    """Track pairs within a shot where a face lost for a moment is found again where it was."""
    pairs = []
    for a in tracks:
        later = [
            b
            for b in tracks
            if b.shot == a.shot and 0 < b.start - a.end <= max_gap and abs(b.boxes[0].cx - a.boxes[-1].cx) <= max_shift
        ]
        if later:
            pairs.append((a, min(later, key=lambda b: b.start)))
    return pairs


def _long(track: Track) -> bool:
    return track.end - track.start >= 0.6


def _mean_look(track: Track) -> np.ndarray | None:
    looks = [np.asarray(box.look, dtype=np.float64) for box in track.boxes if box.look]
    if not looks:
        return None
    total = np.mean(looks, axis=0)
    return total / (total.sum() or 1.0)


def _histogram_likeness(a: np.ndarray | None, b: np.ndarray | None) -> float:
    if a is None or b is None or a.shape != b.shape:
        return 0.0
    return float(np.minimum(a, b).sum())


def _overlap(a: Track, b: Track) -> bool:
    return a.start <= b.end and b.start <= a.end


# ---- who is who -------------------------------------------------------------------------------------


def speaking_at(turns: Sequence[Turn], t: float) -> str | None:
    """The speaker at `t`: of overlapping turns, the longest (an interjection does not take the floor)."""
    covering = [turn for turn in turns if turn.start <= t < turn.end]
    return max(covering, key=lambda turn: turn.end - turn.start).speaker if covering else None


def speaker_identities(
    tracks: Sequence[Track],
    person: dict[int, int],
    turns: Sequence[Turn],
    frames: Sequence[Frame] = (),
    fps: float = 25.0,
    min_evidence: float = 0.1,
    min_frames: int = 15,
) -> dict[str, int]:
    """Speaker label → person id, from three cues over the whole clip, while that label talks alone: the
    mouth moves in time with the sound, more than it does while others talk (`_sync`: a face that laughs
    along, or whose picture flickers with the sound, follows everyone); it moves more than while the label
    is silent (`_activity`); and more than the other faces seen at the same moment (`_lead`). Labels and
    people are matched one to one (Hungarian), so a label never hops between faces; a last label and a
    last person, seen while it talked, go together by elimination; a label diarization split off the same
    voice may join its person (`_join_splits`)."""
    from scipy.optimize import linear_sum_assignment

    speakers = sorted({turn.speaker for turn in turns})
    people = sorted(set(person.values()))
    if not speakers or not people:
        return {}
    series = _mouth_series(tracks, person, frames, fps)
    lead = _lead(series, fps)
    evidence = np.zeros((len(speakers), len(people)))
    seen = np.zeros((len(speakers), len(people)), dtype=int)
    for j, who in enumerate(people):
        times, motion, loud = series.get(who, (np.zeros(0), np.zeros(0), np.zeros(0)))
        talks = {speaker: np.zeros(len(times), dtype=bool) for speaker in speakers}
        for turn in turns:
            talks[turn.speaker] |= (times >= turn.start) & (times < turn.end)
        voices = np.sum(list(talks.values()), axis=0)
        for i, speaker in enumerate(speakers):
            on, off = talks[speaker] & (voices == 1), ~talks[speaker] & (voices > 0)
            seen[i, j] = int(on.sum())
            if on.sum() >= min_frames:
                others = off & (voices == 1)  # someone else alone: a mouth that "follows" them is not talking
                contrast = _sync(motion, loud, others) if others.sum() >= min_frames else 0.0
                evidence[i, j] = (
                    _sync(motion, loud, on)
                    - 0.5 * contrast
                    + 0.5 * _activity(motion, on, off, min_frames)
                    + 0.5 * _mean_lead(lead.get(who), on, min_frames)
                )
    rows, cols = linear_sum_assignment(-evidence)
    chosen = {speakers[i]: people[j] for i, j in zip(rows, cols, strict=True) if evidence[i, j] >= min_evidence}
    left_speakers = [i for i in range(len(speakers)) if speakers[i] not in chosen]
    if len(left_speakers) == 1:  # the last label goes to the last person, when one was plainly there
        i = left_speakers[0]
        left = sorted((seen[i, j], j) for j in range(len(people)) if people[j] not in chosen.values())
        if left and left[-1][0] >= min_frames and (len(left) == 1 or left[-1][0] >= 3 * left[-2][0]):
            chosen[speakers[i]] = people[left[-1][1]]
    return _join_splits(chosen, speakers, people, evidence, turns, min_evidence)


def _join_splits(
    chosen: dict[str, int], speakers: list[str], people: list[int], evidence: np.ndarray, turns, min_evidence: float
) -> dict[str, int]:
    """Diarization often splits one voice in two: an unmatched label joins the person it fits best,
    unless it talks over that person's own label."""
    for i, speaker in enumerate(speakers):
        if speaker in chosen:
            continue
        for j in np.argsort(-evidence[i]):
            owners = [other for other, who in chosen.items() if who == people[j]]
            if evidence[i, j] >= min_evidence and not any(_talk_over(turns, speaker, other) for other in owners):
                chosen[speaker] = people[j]
                break
    return chosen


def _mouth_series(
    tracks: Sequence[Track], person: dict[int, int], frames: Sequence[Frame], fps: float
) -> dict[int, tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """Per person, frame by frame: the time, the mouth's motion as a robust z-score within its own track
    (faces differ in size, light and texture) and the sound's level as a z-score of its log over the clip."""
    loudness = {frame.t: frame.loudness for frame in frames}
    levels = np.log(np.array([v for frame in frames for v in frame.loudness] or [1.0]) + 1e-4)
    mean, spread = float(levels.mean()), float(levels.std()) or 1.0
    out: dict[int, list[list[float]]] = {}
    for track in tracks:
        times, motion, loud = [], [], []
        for t, box in zip(track.times, track.boxes, strict=True):
            sound = loudness.get(t, ())
            for k in range(min(len(box.motion), len(sound))):
                times.append(t + k / fps)
                motion.append(box.motion[k])
                loud.append((math.log(sound[k] + 1e-4) - mean) / spread)
        if not motion:
            continue
        values = np.array(motion)
        centre = float(np.median(values))
        scale = float(np.median(np.abs(values - centre))) * 1.4826 or 1.0
        z = np.clip((values - centre) / scale, -3, 5)
        series = out.setdefault(person[track.id], [[], [], []])
        series[0].extend(times)
        series[1].extend(z)
        series[2].extend(loud)
    return {who: (np.array(a), np.array(b), np.array(c)) for who, (a, b, c) in out.items()}


def _lead(series: dict[int, tuple[np.ndarray, np.ndarray, np.ndarray]], fps: float) -> dict[int, np.ndarray]:
    """Per person and frame, how much more their mouth moves than the other people's seen at that moment
    (NaN when nobody else is seen): who moves most right now is who talks, whatever each face's own habits."""
    frames = {who: np.round(times * fps).astype(int) for who, (times, _, _) in series.items()}
    motion = {
        who: dict(zip(frames[who].tolist(), values.tolist(), strict=True)) for who, (_, values, _) in series.items()
    }
    out = {}
    for who, indices in frames.items():
        values = []
        for index, mine in zip(indices.tolist(), series[who][1].tolist(), strict=True):
            others = [motion[other][index] for other in motion if other != who and index in motion[other]]
            values.append(mine - float(np.mean(others)) if others else np.nan)
        out[who] = np.array(values)
    return out


def _mean_lead(lead: np.ndarray | None, on: np.ndarray, min_frames: int) -> float:
    if lead is None or not len(lead):
        return 0.0
    seen = lead[on & ~np.isnan(lead)]
    return float(seen.mean()) if len(seen) >= min_frames else 0.0


def _sync(motion: np.ndarray, loud: np.ndarray, on: np.ndarray, lags: int = 3) -> float:
    """How well the mouth follows the sound while the label talks: the best correlation of the smoothed
    mouth motion with the sound's level within ±`lags` frames (lips lead or trail the sound a little)."""
    smooth = np.convolve(motion, np.ones(3) / 3, mode="same")
    best = 0.0
    for lag in range(-lags, lags + 1):
        shifted = np.roll(smooth, lag)[on]
        level = loud[on]
        if shifted.std() > 0 and level.std() > 0:
            best = max(best, float(np.corrcoef(shifted, level)[0, 1]))
    return best


def _activity(motion: np.ndarray, on: np.ndarray, off: np.ndarray, min_frames: int) -> float:
    """How much more the mouth moves while the label talks than while others do (z units, 0 if unknown)."""
    if on.sum() < min_frames or off.sum() < min_frames:
        return 0.0
    return float(motion[on].mean() - motion[off].mean())


def _talk_over(turns: Sequence[Turn], a: str, b: str, most: float = 0.5) -> bool:
    """Whether labels `a` and `b` talk at once for more than `most` seconds in all."""
    shared = sum(
        max(0.0, min(x.end, y.end) - max(x.start, y.start))
        for x in turns
        if x.speaker == a
        for y in turns
        if y.speaker == b
    )
    return shared > most


# ---- the camera -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class View:
    """What one output frame shows, in source pixels: `x` is the 9:16 crop's left edge (layout "one");
    `top` and `bottom` are the two 9:8 regions' left/top corners (layout "two")."""

    layout: str
    x: int = 0
    top: tuple[int, int] = (0, 0)
    bottom: tuple[int, int] = (0, 0)


@dataclass(frozen=True)
class CameraPath:
    fps: float
    width: int
    height: int
    crop: tuple[int, int]  # the 9:16 crop's size
    region: tuple[int, int]  # each split half's size (9:8)
    views: tuple[View, ...]  # one per source frame of the clip
    changes: tuple[float, ...] = ()  # shot and speaker changes: the only moments the crop may jump
    speakers: dict[str, int] = field(default_factory=dict)  # label → person id, for the log and tests


@dataclass(frozen=True)
class FramingOptions:
    ease_seconds: float = 0.4  # a move to the next speaker takes this long (cosine ease in and out)...
    cut_beyond: float = 0.5  # ...unless it is longer than this much of the crop's width: then it is a cut
    min_hold: float = 1.0  # a turn shorter than this does not move the camera
    inside_margin: float = 0.12  # a new speaker this far (of the crop's width) inside the crop: stay put
    max_drift_px: float = 2.0  # within a turn the crop follows a moving face at most this fast (px/frame)
    drift_zone: float = 0.22  # ...and only once the face is off centre by this much of the crop's width
    split_turn: float = 2.5  # turns at most this long, alternating between two people, make a split...
    split_min_switches: int = 3  # ...once they change hands this often in a row
    doubt_margin: float = 1.0  # another face's mouth moving this much more (robust z) than the one shown...
    doubt_window: float = 1.0  # ...on average over this many seconds...
    doubt_seconds: float = 0.5  # ...for at least this long: the labels may be wrong, the split shows both
    no_face: str = FULL  # FULL: the whole picture over a blurred copy; ONE: a centred crop
    lead_in: float = 0.5  # in a pause, the camera goes to the next speaker up to this long before they talk


@dataclass(frozen=True)
class _Stretch:
    start: float
    end: float
    shot: int
    track: Track | None
    speaker: str | None


def plan(
    footage: Footage,
    turns: Sequence[Turn],
    framing: str = "follow",
    crop_x: float = 0.5,
    options: FramingOptions = FramingOptions(),
    aspect: tuple[int, int] = (9, 16),
) -> CameraPath:
    """A view per source frame of the clip for the framing asked: "follow", "fixed" (`crop_x` across the
    picture, as before) or "split" (the two main people stacked for the whole clip). `aspect`: the
    output's proportions (9:16 vertical, 1:1 square)."""
    crop, region = crop_size(footage.width, footage.height, aspect), region_size(footage.width, footage.height, aspect)
    count = max(1, round(footage.duration * footage.fps))
    times = [i / footage.fps for i in range(count)]
    if framing == "fixed":
        x = round((footage.width - crop[0]) * min(max(crop_x, 0.0), 1.0))
        return CameraPath(footage.fps, footage.width, footage.height, crop, region, tuple(View(ONE, x) for _ in times))
    tracks = track_faces(footage)
    person = identities(tracks)
    speakers = speaker_identities(tracks, person, turns, footage.frames, footage.fps)
    if not tracks:
        view = View(FULL) if options.no_face == FULL else View(ONE, (footage.width - crop[0]) // 2)
        return CameraPath(
            footage.fps, footage.width, footage.height, crop, region, tuple(view for _ in times), speakers=speakers
        )
    if framing == "split":
        views, changes = _split_everywhere(footage, tracks, person, speakers, times, crop, region)
    else:
        stretches = _stretches(footage, tracks, person, speakers, turns, options.lead_in)
        views, changes = _follow(footage, stretches, tracks, person, times, crop, region, options)
    return CameraPath(footage.fps, footage.width, footage.height, crop, region, tuple(views), tuple(changes), speakers)


def crop_size(width: int, height: int, aspect: tuple[int, int] = (9, 16)) -> tuple[int, int]:
    """The crop of the output's proportions (9:16, or 1:1 for a square clip) at the full height, even sized
    (as H.264 wants)."""
    h = height // 2 * 2
    return min(width // 2 * 2, int(h * aspect[0] / aspect[1]) // 2 * 2), h


def region_size(width: int, height: int, aspect: tuple[int, int] = (9, 16)) -> tuple[int, int]:
    """Each half of a split (9:8 for a 9:16 clip), four fifths of the picture's height, so a seated person
    fills it from the chest up."""
    ratio = aspect[0] / (aspect[1] / 2)
    h = int(height * 0.8) // 2 * 2
    w = min(width // 2 * 2, int(h * ratio) // 2 * 2)
    return w, int(w / ratio) // 2 * 2


def _stretches(
    footage: Footage,
    tracks: Sequence[Track],
    person: dict[int, int],
    speakers: dict[str, int],
    turns: Sequence[Turn],
    lead_in: float = 0.0,
) -> list[_Stretch]:
    """The clip cut wherever the shot or the face to look at changes; a silence keeps the last speaker,
    but its last `lead_in` seconds go to whoever talks next (an editor cuts in the pause, not on the word)."""
    step = 1.0 / max(footage.fps, 1.0) * max(1, round(footage.fps / 10))  # decide ten times a second...
    grid = [i * step for i in range(int(footage.duration / step) + 1)]
    edges = [t for turn in turns for t in (turn.start, turn.end)] + list(footage.cuts)  # ...and on every edge
    points = sorted({round(t, 4) for t in grid + [e for e in edges if 0 <= e < footage.duration]})
    stretches: list[_Stretch] = []
    speaker = None
    for t in points:
        shot = footage.shot(t)
        speaker = speaking_at(turns, t) or _next_speaker(turns, t, lead_in) or speaker
        track = _target(tracks, person, speakers, speaker, shot, t)
        last = stretches[-1] if stretches else None
        if last and last.shot == shot and last.track == track and last.speaker == speaker:
            continue
        if last:
            stretches[-1] = replace(last, end=t)
        stretches.append(_Stretch(t, t + step, shot, track, speaker))
    if stretches:
        stretches[-1] = replace(stretches[-1], end=footage.duration)
    return stretches


def _next_speaker(turns: Sequence[Turn], t: float, lead_in: float) -> str | None:
    """The speaker whose turn starts within `lead_in` seconds after `t` (in a silence), if any."""
    coming = [turn for turn in turns if t < turn.start <= t + lead_in]
    return min(coming, key=lambda turn: turn.start).speaker if coming else None


def _target(
    tracks: Sequence[Track], person: dict[int, int], speakers: dict[str, int], speaker: str | None, shot: int, t: float
) -> Track | None:
    """The speaker's face in this shot; else, when a shot shows exactly one face, that face."""
    here = [track for track in tracks if track.shot == shot and track.box_at(t) is not None]
    if speaker in speakers:
        mine = [track for track in here if person[track.id] == speakers[speaker]]
        if mine:
            return max(mine, key=lambda track: len(track.times))
    return here[0] if len(here) == 1 else None


def _follow(
    footage: Footage,
    stretches: list[_Stretch],
    tracks: Sequence[Track],
    person: dict[int, int],
    times: list[float],
    crop: tuple[int, int],
    region: tuple[int, int],
    options: FramingOptions,
) -> tuple[list[View], list[float]]:
    held = _held(stretches, options.min_hold)
    splits = _split_spans(_runs(stretches), crop, footage.width, options)
    splits += _doubt_spans(held, tracks, person, footage, crop, options)
    views: list[View] = []
    changes: list[float] = []
    x: int | None = None  # the crop's left edge in the frame before (None: no crop was shown)
    goal: float | None = None
    ease: tuple[float, float] | None = None  # (from x, start time) while easing to a new speaker
    current: _Stretch | None = None
    index = 0
    for t in times:
        while index + 1 < len(held) and t >= held[index + 1].start - 1e-9:
            index += 1
        stretch = held[index]
        split = next((span for span in splits if span[0] <= t < span[1]), None)
        if split:
            view = _split_view(split[2], split[3], footage, region)
            if not views or views[-1] != view:
                changes.append(t)
            views.append(view)
            x, current = None, None
            continue
        if stretch is not current:
            cut = current is None or current.shot != stretch.shot or x is None
            current = stretch
            aimed = _aim(stretch, footage, crop, None if cut else x, options)
            if cut:
                changes.append(t)
                goal = aimed if aimed is not None else _fallback_x(footage, tracks, stretch, crop)
                ease = None
            elif aimed is not None and x is not None and aimed != x:  # x is not None: this is no cut
                changes.append(t)
                far = abs(aimed - x) > options.cut_beyond * crop[0]
                goal, ease = aimed, (None if far else (x, t))
        if goal is None:  # no face anywhere in this shot
            if options.no_face == FULL:
                views.append(View(FULL))
                x = None
                continue
            goal = (footage.width - crop[0]) / 2
        if ease is not None and t - ease[1] < options.ease_seconds:
            u = (t - ease[1]) / options.ease_seconds
            now = ease[0] + (goal - ease[0]) * (1 - math.cos(math.pi * u)) / 2
        else:
            ease = None
            goal = _drift(stretch, t, goal, footage, crop, options)
            now = goal
        x = round(min(max(now, 0), footage.width - crop[0]))
        views.append(View(ONE, x))
    return views, changes


def _runs(stretches: list[_Stretch]) -> list[_Stretch]:
    """Consecutive stretches on the same face of the same shot as one."""
    out: list[_Stretch] = []
    for stretch in stretches:
        if out and out[-1].shot == stretch.shot and out[-1].track == stretch.track:
            out[-1] = replace(out[-1], end=stretch.end)
        else:
            out.append(stretch)
    return out


def _held(stretches: list[_Stretch], min_hold: float, floor: float = 0.6) -> list[_Stretch]:
    """The stretches as the camera sees them: it turns to a new face only when that face has the floor,
    `floor` of the next `min_hold` seconds (an interjection does not, a reply with a short interruption
    does); a face it cannot name (None) never takes it. A stretch that starts a shot always stands."""
    out: list[_Stretch] = []
    for index, stretch in enumerate(stretches):
        last = out[-1] if out else None
        if last is None or last.shot != stretch.shot:
            out.append(stretch)
        elif stretch.track == last.track or stretch.track is None or not _has_floor(stretches, index, min_hold, floor):
            out[-1] = replace(last, end=stretch.end)
        else:
            out.append(stretch)
    return out


def _has_floor(stretches: list[_Stretch], index: int, min_hold: float, floor: float) -> bool:
    """Whether the face of stretch `index` is on for `floor` of the `min_hold` seconds from its start (or of
    what is left of the shot)."""
    first = stretches[index]
    until = first.start + min_hold
    mine = total = 0.0
    for stretch in stretches[index:]:
        if stretch.start >= until or stretch.shot != first.shot:
            break
        span = min(stretch.end, until) - stretch.start
        total += span
        mine += span if stretch.track == first.track else 0.0
    return total > 0 and mine / total >= floor


def _aim(
    stretch: _Stretch, footage: Footage, crop: tuple[int, int], current: int | None, options: FramingOptions
) -> int | None:
    """Where the crop should sit for a stretch: centred on its face, unless the face is already well
    inside the current crop (then it stays)."""
    if stretch.track is None:
        return None
    boxes = [
        b
        for t, b in zip(stretch.track.times, stretch.track.boxes, strict=True)
        if stretch.start - 0.5 <= t <= stretch.end
    ]
    boxes = boxes or list(stretch.track.boxes)
    left = median(b.x1 for b in boxes) * footage.width
    right = median(b.x2 for b in boxes) * footage.width
    if current is not None:
        margin = options.inside_margin * crop[0]
        if left >= current + margin and right <= current + crop[0] - margin:
            return current
    centre = (left + right) / 2
    return round(min(max(centre - crop[0] / 2, 0), footage.width - crop[0]))


def _drift(
    stretch: _Stretch, t: float, x: float, footage: Footage, crop: tuple[int, int], options: FramingOptions
) -> float:
    """Follow a face that moves away within a turn, slowly: only once it is off centre by `drift_zone`."""
    box = stretch.track.box_at(t) if stretch.track else None
    if box is None:
        return x
    offset = box.cx * footage.width - (x + crop[0] / 2)
    zone = options.drift_zone * crop[0]
    if abs(offset) <= zone:
        return x
    step = min(abs(offset) - zone, options.max_drift_px)
    return x + math.copysign(step, offset)


def _fallback_x(footage: Footage, tracks: Sequence[Track], stretch: _Stretch, crop: tuple[int, int]) -> int | None:
    """A new shot with no speaker's face to look at: the middle of the faces in it, else the centre."""
    here = [track for track in tracks if track.shot == stretch.shot]
    if not here:
        return None
    centre = float(np.mean([median(b.cx for b in track.boxes) for track in here])) * footage.width
    return round(min(max(centre - crop[0] / 2, 0), footage.width - crop[0]))


def _split_spans(
    runs: list[_Stretch], crop: tuple[int, int], width: int, options: FramingOptions
) -> list[tuple[float, float, Track, Track]]:
    """Stretches of short turns that alternate between the same two faces of one shot, at least
    `split_min_switches` changes long, when one crop cannot hold both faces."""
    spans = []
    i = 0
    while i < len(runs):
        j = i
        while j + 1 < len(runs) and _alternates(runs, i, j + 1, options.split_turn):
            j += 1
        if j - i >= options.split_min_switches:
            a, b = runs[i].track, runs[i + 1].track
            if a is not None and b is not None and not _fit_together(a, b, crop, width):
                left, right = sorted((a, b), key=lambda track: median(box.cx for box in track.boxes))
                spans.append((runs[i].start, runs[j].end, left, right))
        i = j + 1
    return spans


def _alternates(runs: list[_Stretch], first: int, k: int, longest: float) -> bool:
    """Whether run k continues the short back-and-forth that starts at run `first`."""
    run, before, start = runs[k], runs[k - 1], runs[first]
    if run.track is None or start.track is None or run.shot != start.shot:
        return False
    if run.end - run.start > longest or start.end - start.start > longest:
        return False
    # Runs first+1 .. k-1 passed this check already (the caller asks run by run), so they have faces too.
    second = runs[first + 1].track if k > first + 1 else run.track
    assert second is not None and before.track is not None
    return run.track.id in {start.track.id, second.id} and run.track.id != before.track.id


def _doubt_spans(
    held: list[_Stretch],
    tracks: Sequence[Track],
    person: dict[int, int],
    footage: Footage,
    crop: tuple[int, int],
    options: FramingOptions,
) -> list[tuple[float, float, Track, Track]]:
    """Where the picture contradicts the speaker labels: while the camera holds one face, another face of
    the shot that the crop cannot also hold moves its mouth clearly more (`doubt_margin` over
    `doubt_window`) for `doubt_seconds` or more. Diarization's turn edges are often a second off and its
    labels sometimes swapped, mouths move when people laugh: neither is trusted, the split shows both."""
    mouths = _smoothed_mouths(tracks, person, footage, options.doubt_window)
    fps = footage.fps
    spans: list[tuple[float, float, Track, Track]] = []
    for stretch in held:
        face = stretch.track
        if face is None or person[face.id] not in mouths:
            continue
        mine = person[face.id]
        others = [
            track
            for track in tracks
            if track.shot == stretch.shot
            and person[track.id] != mine
            and person[track.id] in mouths
            and track.start <= stretch.end
            and stretch.start <= track.end
            and not _fit_together(face, track, crop, footage.width)
        ]
        doubted: list[tuple[int, Track]] = []
        for i in range(math.ceil(stretch.start * fps), min(math.ceil(stretch.end * fps), len(mouths[mine]))):
            t = i / fps
            if face.box_at(t) is None:
                continue
            gaps = [
                (mouths[person[track.id]][i] - mouths[mine][i], track)
                for track in others
                if track.box_at(t) is not None
            ]
            gaps = [(gap, track) for gap, track in gaps if gap >= options.doubt_margin]
            if gaps:
                doubted.append((i, max(gaps, key=lambda item: item[0])[1]))
        spans += _doubt_runs(doubted, stretch, fps, options)
    return _merge_spans(spans, options.min_hold)


def _smoothed_mouths(
    tracks: Sequence[Track], person: dict[int, int], footage: Footage, window: float
) -> dict[int, np.ndarray]:
    """Per person, frame by frame, the mouth's motion (robust z, as `_mouth_series`) averaged over `window`
    seconds around the frame; NaN where the face was seen for less than half of that."""
    count = max(1, round(footage.duration * footage.fps))
    size = max(1, round(window * footage.fps))
    kernel = np.ones(size)
    out = {}
    for who, (times, motion, _) in _mouth_series(tracks, person, footage.frames, footage.fps).items():
        index = np.round(times * footage.fps).astype(int)
        keep = (index >= 0) & (index < count)
        total, seen = np.zeros(count), np.zeros(count)
        np.add.at(total, index[keep], motion[keep])
        np.add.at(seen, index[keep], 1.0)
        total, seen = np.convolve(total, kernel, mode="same"), np.convolve(seen, kernel, mode="same")
        out[who] = np.where(seen >= size / 2, total / np.maximum(seen, 1.0), np.nan)
    return out


def _doubt_runs(
    doubted: list[tuple[int, Track]], stretch: _Stretch, fps: float, options: FramingOptions
) -> list[tuple[float, float, Track, Track]]:
    """Doubted frames of one stretch as split spans: runs of `doubt_seconds` or more, each widened to
    `min_hold` within the stretch, and to the stretch's edge when less than `min_hold` would be left
    (a view that flashes by is worse than none)."""
    runs: list[list] = []
    for i, other in doubted:
        if runs and i - runs[-1][1] <= 1:
            runs[-1][1] = i
            runs[-1][2].append(other)
        else:
            runs.append([i, i, [other]])
    spans = []
    for first, last, others in runs:
        if (last - first + 1) / fps < options.doubt_seconds:
            continue
        other = max(set(others), key=others.count)
        start, end = first / fps, (last + 1) / fps
        if end - start < options.min_hold:
            end = min(stretch.end, start + options.min_hold)
            start = max(stretch.start, end - options.min_hold)
        start = stretch.start if start - stretch.start < options.min_hold else start
        end = stretch.end if stretch.end - end < options.min_hold else end
        left, right = sorted((stretch.track, other), key=lambda track: median(box.cx for box in track.boxes))
        spans.append((start, end, left, right))
    return spans


def _merge_spans(
    spans: list[tuple[float, float, Track, Track]], min_gap: float
) -> list[tuple[float, float, Track, Track]]:
    """Split spans of the same two faces less than `min_gap` apart as one (no flicker between layouts)."""
    out: list[tuple[float, float, Track, Track]] = []
    for span in sorted(spans, key=lambda span: span[0]):
        if out and span[0] - out[-1][1] < min_gap and {span[2].id, span[3].id} == {out[-1][2].id, out[-1][3].id}:
            out[-1] = (out[-1][0], max(out[-1][1], span[1]), out[-1][2], out[-1][3])
        else:
            out.append(span)
    return out


def _fit_together(a: Track, b: Track, crop: tuple[int, int], width: int) -> bool:
    left = min(median(box.x1 for box in a.boxes), median(box.x1 for box in b.boxes)) * width
    right = max(median(box.x2 for box in a.boxes), median(box.x2 for box in b.boxes)) * width
    return right - left <= crop[0] * 0.9


def _split_view(top: Track, bottom: Track, footage: Footage, region: tuple[int, int]) -> View:
    return View(TWO, top=_region_at(top, footage, region), bottom=_region_at(bottom, footage, region))


def _region_at(track: Track, footage: Footage, region: tuple[int, int]) -> tuple[int, int]:
    """A 9:8 region with the face centred across and in its upper third (fixed per track: no wobble)."""
    cx = median(box.cx for box in track.boxes) * footage.width
    cy = median(box.cy for box in track.boxes) * footage.height
    x = round(min(max(cx - region[0] / 2, 0), footage.width - region[0])) // 2 * 2
    y = round(min(max(cy - region[1] / 3, 0), footage.height - region[1])) // 2 * 2
    return x, y


def _split_everywhere(
    footage: Footage,
    tracks: Sequence[Track],
    person: dict[int, int],
    speakers: dict[str, int],
    times: list[float],
    crop: tuple[int, int],
    region: tuple[int, int],
) -> tuple[list[View], list[float]]:
    """The "split" framing: per shot, the two people seen longest (speakers first), left one on top."""
    views, changes = [], []
    last_shot = None
    for t in times:
        shot = footage.shot(t)
        here = [track for track in tracks if track.shot == shot]
        if shot != last_shot:
            changes.append(t)
            last_shot = shot
        speaking = set(speakers.values())
        ranked = sorted(here, key=lambda track: (person[track.id] not in speaking, -len(track.times)))[:2]
        if len(ranked) == 2:
            left, right = sorted(ranked, key=lambda track: median(box.cx for box in track.boxes))
            views.append(_split_view(left, right, footage, region))
        elif ranked:
            x = median(box.cx for box in ranked[0].boxes) * footage.width - crop[0] / 2
            views.append(View(ONE, round(min(max(x, 0), footage.width - crop[0]))))
        else:
            views.append(View(FULL))
    return views, changes


# ---- measures (tests and the benchmark) ----------------------------------------------------------


def face_inside(view: View, path: CameraPath, box: tuple[float, float, float, float], share: float = 0.8) -> bool:
    """Whether at least `share` of a face (source pixels x1, y1, x2, y2) is in what the frame shows."""
    x1, y1, x2, y2 = box
    if view.layout == FULL:
        return True
    if view.layout == ONE:
        regions = [(view.x, 0, path.crop[0], path.crop[1])]
    else:
        regions = [(*view.top, *path.region), (*view.bottom, *path.region)]
    area = max((x2 - x1) * (y2 - y1), 1e-9)
    for rx, ry, rw, rh in regions:
        iw = min(x2, rx + rw) - max(x1, rx)
        ih = min(y2, ry + rh) - max(y1, ry)
        if iw > 0 and ih > 0 and iw * ih / area >= share:
            return True
    return False


def steadiness(path: CameraPath, ease_seconds: float = FramingOptions.ease_seconds) -> float:
    """The largest move of the crop between two frames (source pixels), outside the moments it may jump:
    shot and speaker changes, and the ease that follows each."""
    worst = 0.0
    for i in range(1, len(path.views)):
        t = i / path.fps
        if any(change - 0.5 / path.fps <= t <= change + ease_seconds + 1.0 / path.fps for change in path.changes):
            continue
        a, b = path.views[i - 1], path.views[i]
        if a.layout != b.layout:
            continue
        worst = max(
            worst, abs(a.x - b.x), *(abs(p - q) for p, q in zip(a.top + a.bottom, b.top + b.bottom, strict=True))
        )
    return worst
