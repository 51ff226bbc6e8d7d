"""Smart cutting of H.264 sources: only the frames around a clip's ends are encoded again.

A clip [start, end] of an H.264 video is three pieces: the head, from `start` to the first IDR keyframe
inside the clip; the middle, whole groups of pictures copied packet for packet from the source; the
tail, from the last IDR keyframe inside the clip to `end`. Head and tail are decoded and encoded with
x264; the middle is never decoded, so its picture is the source's, bit for bit.

The pieces come from two encoders, so they carry different parameter sets (SPS/PPS). An MP4's H.264
track keeps its parameter sets in one configuration record, which may list several, each under its own
id: the head and tail are encoded under ids the source does not use (x264's `sps-id`), and the record
lists all of them, so every decoder finds each slice's parameters by the id the slice names. The result
is then checked by decoding it around both joins (`_check_joins`); anything unexpected gives None and
the caller encodes the clip in full instead.
"""

from __future__ import annotations

import logging
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import numpy as np

from pipeline import media
from pipeline.options import CutOptions
from pipeline.types import Progress

log = logging.getLogger(__name__)

IDR, SEI, SPS, PPS, AUD = 5, 6, 7, 8, 9  # H.264 NAL unit types
PROFILES = {"Baseline": "baseline", "Constrained Baseline": "baseline", "Main": "main", "High": "high"}
MIN_COPIED_SECONDS = 1.0  # below this the copy saves less than the extra steps cost
SMART_CLIP_COST = 1.0  # seconds of picture encoded that a smart cut clip's own steps cost as much as
COPY_CLIP_COST = 0.5  # the same for a clip copied out of a single encode
MIN_PSNR = 25.0  # dB of an encoded piece against its source; a misread slice is noise, far below


class SmartCutUnsupported(Exception):
    """This source or clip cannot be smart cut; the caller encodes the clip in full."""


# ---- the H.264 bitstream: only what the joins need ----------------------------------------------------


@dataclass(frozen=True)
class AvcConfig:
    """An MP4's H.264 configuration record (ISO/IEC 14496-15 avcC)."""

    profile: int
    compatibility: int
    level: int
    length_size: int  # bytes before each NAL unit in a sample
    sps: tuple[bytes, ...]
    pps: tuple[bytes, ...]
    trailer: bytes  # High profiles' chroma and bit-depth bytes, kept as the source wrote them

    @classmethod
    def parse(cls, data: bytes) -> AvcConfig:
        if len(data) < 7 or data[0] != 1:
            raise SmartCutUnsupported("the H.264 track has no MP4 configuration record")
        try:
            return cls._parse(data)
        except IndexError:
            raise SmartCutUnsupported("the H.264 track's configuration record is cut short") from None

    @classmethod
    def _parse(cls, data: bytes) -> AvcConfig:
        at, sps = 6, []
        for _ in range(data[5] & 0x1F):
            size = int.from_bytes(data[at : at + 2], "big")
            sps.append(bytes(data[at + 2 : at + 2 + size]))
            at += 2 + size
        pps, count = [], data[at]
        at += 1
        for _ in range(count):
            size = int.from_bytes(data[at : at + 2], "big")
            pps.append(bytes(data[at + 2 : at + 2 + size]))
            at += 2 + size
        return cls(data[1], data[2], data[3], (data[4] & 3) + 1, tuple(sps), tuple(pps), bytes(data[at:]))

    def to_bytes(self) -> bytes:
        out = bytearray([1, self.profile, self.compatibility, self.level, 0xFC | (self.length_size - 1)])
        out.append(0xE0 | len(self.sps))
        for nal in self.sps:
            out += len(nal).to_bytes(2, "big") + nal
        out.append(len(self.pps))
        for nal in self.pps:
            out += len(nal).to_bytes(2, "big") + nal
        return bytes(out + self.trailer)

    def free_ids(self) -> list[int]:
        """Parameter set ids the source does not use (x264 gives its SPS and PPS the same id)."""
        used = {sps_id(nal) for nal in self.sps} | {pps_id(nal) for nal in self.pps}
        return [number for number in range(1, 32) if number not in used]

    def with_sets(self, sps: list[bytes], pps: list[bytes]) -> AvcConfig:
        level = max([self.level, *(nal[3] for nal in sps)])
        return AvcConfig(
            self.profile,
            self.compatibility,
            level,
            self.length_size,
            self.sps + tuple(sps),
            self.pps + tuple(pps),
            self.trailer,
        )


class _Bits:
    """Exp-Golomb reading of a NAL unit's first fields, emulation-prevention bytes removed."""

    def __init__(self, nal: bytes) -> None:
        self.data = nal[1:].replace(b"\x00\x00\x03", b"\x00\x00")
        self.position = 0

    def bit(self) -> int:
        byte = self.data[self.position >> 3]
        self.position += 1
        return (byte >> (7 - ((self.position - 1) & 7))) & 1

    def skip(self, count: int) -> None:
        self.position += count

    def ue(self) -> int:
        zeros = 0
        while self.bit() == 0:
            zeros += 1
        value = 0
        for _ in range(zeros):
            value = value << 1 | self.bit()
        return (1 << zeros) - 1 + value


def sps_id(nal: bytes) -> int:
    bits = _Bits(nal)
    bits.skip(24)  # profile_idc, constraint flags, level_idc
    return bits.ue()


def pps_id(nal: bytes) -> int:
    return _Bits(nal).ue()


def split_annexb(data: bytes) -> list[bytes]:
    """NAL units of an Annex B stream (start codes 00 00 01 or 00 00 00 01)."""
    units, at = [], data.find(b"\x00\x00\x01")
    while at != -1:
        begin = at + 3
        at = data.find(b"\x00\x00\x01", begin)
        unit = data[begin:] if at == -1 else data[begin:at]
        units.append(unit.rstrip(b"\x00") if at != -1 else unit)
    return [unit for unit in units if unit]


def split_lengths(data: bytes, length_size: int) -> Iterator[bytes]:
    """NAL units of an MP4 sample, each after its length."""
    at = 0
    while at + length_size <= len(data):
        size = int.from_bytes(data[at : at + length_size], "big")
        yield data[at + length_size : at + length_size + size]
        at += length_size + size


def with_lengths(units: list[bytes], length_size: int) -> bytes:
    return b"".join(len(unit).to_bytes(length_size, "big") + unit for unit in units)


# ---- planning a cut ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Plan:
    """Where one clip's pieces meet, in the source's time base; `first` is the clip's first frame."""

    first: int
    copy_from: int  # the first IDR keyframe inside the clip: the middle starts here
    copy_to: int  # the last IDR keyframe inside the clip: the middle ends before it, the tail starts here
    end: int  # frames shown before this are in the clip
    time_base: Fraction
    offset: int = 0  # the source's start time: clip times count from it, as ffmpeg's -ss does

    def seconds(self, ticks: int) -> float:
        return float(ticks * self.time_base)

    @property
    def start_seconds(self) -> float:
        return self.seconds(self.first - self.offset)

    @property
    def encoded_seconds(self) -> float:
        return self.seconds(self.copy_from - self.first + self.end - self.copy_to)

    @property
    def copied_seconds(self) -> float:
        return self.seconds(self.copy_to - self.copy_from)


def source_config(container) -> AvcConfig:
    """The open source's H.264 configuration, or SmartCutUnsupported saying why it cannot be smart cut."""
    if not container.streams.video:
        raise SmartCutUnsupported("no picture")
    context = container.streams.video[0].codec_context
    if context.name != "h264":
        raise SmartCutUnsupported(f"the picture is {context.name}, not H.264")
    _x264_profile(context)
    config = AvcConfig.parse(bytes(context.extradata or b""))
    try:
        free = config.free_ids()
    except IndexError:
        raise SmartCutUnsupported("a parameter set in the H.264 track is cut short") from None
    if len(free) < 2:  # the head and the tail each need an id of their own
        raise SmartCutUnsupported("the source leaves fewer than two of the parameter set ids 1-31 free")
    return config


def _x264_profile(context) -> str:
    """The x264 profile that re-creates the picture's H.264 profile, or SmartCutUnsupported when none does."""
    profile = PROFILES.get(context.profile)
    if profile is None or context.pix_fmt != "yuv420p":
        raise SmartCutUnsupported(f"H.264 {context.profile} {context.pix_fmt} is not one x264 re-creates")
    return profile


def plan(source: Path | str, start: float, end: float) -> Plan | None:
    """How [start, end] of the source splits into head, copied middle and tail; None when no whole group
    of pictures worth copying lies inside it."""
    with av.open(str(source)) as container:
        return _plan_in(container, source_config(container), start, end)


def _plan_in(container, config: AvcConfig, start: float, end: float) -> Plan | None:
    """`plan` in an open source: an hour's MP4 index takes tens of milliseconds to read, once is enough."""
    stream = container.streams.video[0]
    tb = stream.time_base
    offset = (container.start_time or 0) * tb.denominator // (tb.numerator * av.time_base)
    first_tick, end_tick = offset + int(start / tb), offset + int(end / tb)
    container.seek(first_tick, stream=stream, backward=True)
    shown, idrs = [], []
    for packet in container.demux(stream):
        if packet.pts is None:
            continue
        if packet.is_keyframe and packet.pts > end_tick:
            break
        shown.append(packet.pts)
        if packet.is_keyframe and _is_idr(bytes(packet), config.length_size):
            idrs.append(packet.pts)
    inside = [pts for pts in shown if first_tick <= pts < end_tick]
    keys = [pts for pts in idrs if first_tick <= pts <= end_tick]
    if not inside or len(keys) < 2 or config.length_size != 4:  # 4: the length x264's packets are given
        return None
    result = Plan(min(inside), keys[0], keys[-1], end_tick, tb, offset)
    return result if result.copied_seconds >= MIN_COPIED_SECONDS else None


def choose(source: Path | str, spans: list[tuple[float, float]]) -> list[Plan | None] | None:
    """Plans for the clips of one exchange, when smart cutting them costs less than encoding their whole
    span once and copying the other clips out of it (`estimated_cost`); None when the source cannot be
    smart cut or it would not pay. A clip with no plan (no whole group of pictures inside) is encoded in full."""
    try:
        with av.open(str(source)) as container:
            config = source_config(container)
            plans = [_plan_in(container, config, start, end) for start, end in spans]
    except (SmartCutUnsupported, av.error.FFmpegError) as reason:
        log.info("no smart cut of %s: %s", Path(source).name, reason)
        return None
    smart, once = estimated_cost(plans, spans)
    log.info(
        "cutting %d clips: smart cut costs about %.1f s of encoding, encoding once %.1f s", len(spans), smart, once
    )
    return plans if smart < once else None


def estimated_cost(plans: list[Plan | None], spans: list[tuple[float, float]]) -> tuple[float, float]:
    """What smart cutting and encoding once would cost, in seconds of picture encoded. Each smart cut
    clip also pays for its own steps (decoding up to its start, the checks, the sound: SMART_CLIP_COST),
    each clip copied out of a single encode for one ffmpeg run (COPY_CLIP_COST); both measured with
    bench/bench_cutting.py on the 10-minute conversation's exchanges (bench/output/pipeline-clips-10min.json)."""
    smart = sum(
        p.encoded_seconds + SMART_CLIP_COST if p else end - start for p, (start, end) in zip(plans, spans, strict=True)
    )
    once = max(end for _, end in spans) - min(start for start, _ in spans) + COPY_CLIP_COST * (len(spans) - 1)
    return smart, once


def _is_idr(sample: bytes, length_size: int) -> bool:
    return any(unit and unit[0] & 0x1F == IDR for unit in split_lengths(sample, length_size))


# ---- cutting -------------------------------------------------------------------------------------


def cut(
    source: Path | str, dest: Path | str, plan: Plan, options: CutOptions, progress: Progress | None = None
) -> Path | None:
    """Write the planned clip to `dest` (MP4, H.264 + AAC); None, with nothing written, when the joins do
    not check out (the caller then encodes the clip in full)."""
    source, dest = Path(source), Path(dest)
    video_only = dest.with_suffix(".video.mp4")
    partial = dest.with_suffix(".partial.mp4")
    try:
        with av.open(str(source)) as container, av.open(str(video_only), "w", format="mp4") as output:
            config, stream = source_config(container), container.streams.video[0]
            stream.thread_type = "AUTO"  # frames decoded in parallel: the head and tail are decoded first
            profile = _x264_profile(stream.codec_context)
            free = config.free_ids()
            head = _encode(container, plan.first, plan.copy_from, plan, options, profile, free[0])
            _progress(progress, 0.3)
            tail = _encode(container, plan.copy_to, plan.end, plan, options, profile, free[1])
            _progress(progress, 0.6)
            out = output.add_stream_from_template(stream)
            out.codec_context.extradata = config.with_sets(head.sps + tail.sps, head.pps + tail.pps).to_bytes()
            out.time_base = stream.time_base
            copied = _mux(output, out, container, plan, head, tail)
            middle_picture = _luma_at(container, stream, plan.copy_from, whole_source=True)
            sound = container.streams.audio[0].codec_context.name if container.streams.audio else None
        frames = _check_joins(video_only, plan, head, tail, copied, middle_picture)
        _progress(progress, 0.8)
        _add_audio(source, video_only, partial, plan, options, sound)
        partial.replace(dest)
        log.info(
            "smart cut %s: %d frames, joins checked; %.1f s encoded, %.1f s copied",
            dest.name,
            frames,
            plan.encoded_seconds,
            plan.copied_seconds,
        )
        _progress(progress, 1.0)
        return dest
    except (SmartCutUnsupported, av.error.FFmpegError, subprocess.SubprocessError) as problem:
        log.warning("smart cut of %s refused (%s): encoding it in full", dest.name, problem)
        return None
    finally:
        video_only.unlink(missing_ok=True)
        partial.unlink(missing_ok=True)


def cut_or_encode(
    source: Path | str,
    dest: Path | str,
    start: float,
    end: float,
    plan: Plan | None,
    options: CutOptions,
    progress: Progress | None = None,
) -> Path:
    """The clip smart cut by its plan, or encoded in full when it has none or its joins do not check out."""
    made = cut(source, dest, plan, options, progress) if plan else None
    return made or media.cut_clip(source, dest, start, end, options, progress=progress)


def _progress(progress: Progress | None, fraction: float) -> None:
    if progress:
        progress(fraction)


@dataclass
class _Encoded:
    packets: list[tuple[int, bytes, bool]] = field(default_factory=list)  # (pts, NAL units with lengths, key)
    sps: list[bytes] = field(default_factory=list)
    pps: list[bytes] = field(default_factory=list)
    first_picture: Any = None  # the source's luma of the first frame, to check the result against


def _encode(container, begin: int, end: int, plan: Plan, options: CutOptions, profile: str, set_id: int) -> _Encoded:
    """Decode the source's frames shown in [begin, end) and encode them under parameter set `set_id`,
    without B-frames, so each packet is decoded in the order it is shown."""
    encoded = _Encoded()
    if end <= begin:
        return encoded
    stream = container.streams.video[0]
    source = stream.codec_context
    encoder = av.CodecContext.create("libx264", "w")
    encoder.width, encoder.height, encoder.pix_fmt = source.width, source.height, "yuv420p"
    encoder.time_base = stream.time_base
    encoder.framerate = stream.average_rate or Fraction(25)
    if source.sample_aspect_ratio:
        encoder.sample_aspect_ratio = source.sample_aspect_ratio
    for colour in ("color_range", "colorspace", "color_primaries", "color_trc"):  # the joins must not shift hue
        setattr(encoder, colour, getattr(source, colour))
    encoder.flags |= av.codec.context.Flags.global_header
    encoder.options = {
        "preset": options.preset,
        "crf": str(options.crf),
        "profile": profile,
        "x264-params": f"sps-id={set_id}:bframes=0:scenecut=0",
    }
    encoder.open()
    for unit in split_annexb(bytes(encoder.extradata or b"")):
        (encoded.sps if unit[0] & 0x1F == SPS else encoded.pps).append(unit)
    container.seek(begin, stream=stream, backward=True)
    for frame in container.decode(stream):
        if frame.pts is None or frame.pts < begin:
            continue
        if frame.pts >= end:
            break
        if encoded.first_picture is None:
            encoded.first_picture = _luma(frame)
        frame.pict_type = av.video.frame.PictureType.NONE
        _collect(encoder.encode(frame), encoded)
    _collect(encoder.encode(None), encoded)
    return encoded


def _collect(packets, encoded: _Encoded) -> None:
    for packet in packets:
        units = [unit for unit in split_annexb(bytes(packet)) if unit[0] & 0x1F not in (SPS, PPS, AUD)]
        encoded.packets.append((packet.pts, with_lengths(units, 4), packet.is_keyframe))


def _mux(output, out, container, plan: Plan, head: _Encoded, tail: _Encoded) -> int:
    """Head, copied middle and tail in one track, timed from the clip's first frame; returns how many
    packets were copied. Encoded packets are decoded as shown; each is given the decode delay of the
    source IDR it joins, so decode times rise across the joins as they do in the source."""
    stream = container.streams.video[0]
    head_delay, tail_delay = _delay_at(container, stream, plan.copy_from), _delay_at(container, stream, plan.copy_to)
    last_dts = None
    for pts, data, key in head.packets:
        last_dts = _write(output, out, data, pts - plan.first, pts - head_delay - plan.first, key, last_dts)
    copied = 0
    container.seek(plan.copy_from, stream=stream, backward=True)
    for packet in container.demux(stream):
        if packet.pts is None or packet.dts is None or (copied == 0 and packet.pts != plan.copy_from):
            continue  # packets before the IDR the middle starts with
        if packet.is_keyframe and packet.pts >= plan.copy_to:
            break
        if not plan.copy_from <= packet.pts < plan.copy_to:
            raise SmartCutUnsupported("a copied picture is shown outside the keyframes around it")
        last_dts = _write(
            output, out, bytes(packet), packet.pts - plan.first, packet.dts - plan.first, packet.is_keyframe, last_dts
        )
        copied += 1
    for pts, data, key in tail.packets:
        last_dts = _write(output, out, data, pts - plan.first, pts - tail_delay - plan.first, key, last_dts)
    return copied


def _delay_at(container, stream, pts: int) -> int:
    """How long before it is shown the source's frame at `pts` (a keyframe) is decoded."""
    container.seek(pts, stream=stream, backward=True)
    for packet in container.demux(stream):
        if packet.pts == pts and packet.dts is not None:
            return packet.pts - packet.dts
        if packet.pts is not None and packet.pts > pts and packet.is_keyframe:
            break
    raise SmartCutUnsupported("a keyframe of the plan is not in the source")


def _write(output, out, data: bytes, pts: int, dts: int, key: bool, last_dts: int | None) -> int:
    if last_dts is not None and dts <= last_dts:
        raise SmartCutUnsupported("decode times would not rise at a join")
    packet = av.Packet(data)
    packet.pts, packet.dts, packet.time_base, packet.stream = pts, dts, out.time_base, out
    packet.is_keyframe = key
    output.mux(packet)
    return dts


def _check_joins(video: Path, plan: Plan, head: _Encoded, tail: _Encoded, copied: int, middle_picture) -> int:
    """Every frame present once and in order (read from the packets), and the first picture of each piece
    decoded from the assembled file as it should look: the copied one identical to the source's, the
    encoded ones close to it. A slice read with another piece's parameters decodes to noise or fails."""
    with av.open(str(video)) as container:
        stream = container.streams.video[0]
        shown = [packet.pts for packet in container.demux(stream) if packet.pts is not None]
        expected = len(head.packets) + copied + len(tail.packets)
        if sorted(shown) != sorted(set(shown)) or len(shown) != expected or min(shown) != 0:
            raise SmartCutUnsupported(f"{len(shown)} frames assembled where {expected} were planned")
        pictures = {plan.copy_from - plan.first: middle_picture}
        for piece, at in ((head, 0), (tail, plan.copy_to - plan.first)):
            if piece.packets:
                pictures[at] = piece.first_picture
        for at, picture in pictures.items():
            decoded = _luma_at(container, stream, at)
            exact = at == plan.copy_from - plan.first
            close = decoded is not None and (
                np.array_equal(decoded, picture) if exact else _psnr(decoded, picture) >= MIN_PSNR
            )
            if not close:
                raise SmartCutUnsupported(f"the picture at {plan.seconds(at):.2f} s does not match the source")
    return len(shown)


def _luma_at(container, stream, pts: int, whole_source: bool = False):
    """The luma plane of the frame shown at `pts`, decoded from the keyframe before it."""
    container.seek(pts, stream=stream, backward=True)
    for frame in container.decode(stream):
        if frame.pts is not None and frame.pts >= pts:
            return _luma(frame, whole_source) if frame.pts == pts else None
    return None


def _luma(frame, whole_source: bool = True):
    """A picture turned or interlaced in the source would be stored differently by x264: refused."""
    if whole_source and (frame.rotation or frame.interlaced_frame):
        raise SmartCutUnsupported("the source picture is rotated or interlaced")
    return frame.to_ndarray(format="gray")


def _psnr(a, b) -> float:
    error = np.mean((a.astype(np.float32) - b.astype(np.float32)) ** 2)
    return float("inf") if error == 0 else float(10 * np.log10(255.0**2 / error))


def _add_audio(source: Path, video: Path, partial: Path, plan: Plan, options: CutOptions, sound: str | None) -> None:
    """The picture as assembled, with the source's sound over the same span. Brought to a loudness
    (`options.loudness`), it is measured and levelled over the clip and encoded (`media.clip_sound`); else
    AAC packets are copied (the first starts up to one AAC frame early and an edit list hides what lies
    before the clip: no encoding, the sound starts on the very sample), any other sound encoded as AAC."""
    start, duration = plan.start_seconds, plan.seconds(plan.end - plan.first)
    levelled = media.clip_sound(source, partial.with_suffix(".sound.wav"), start, duration, options) if sound else None
    if levelled:
        audio_input, audio = ["-i", str(levelled)], ["-map", "1:a:0", *media.SOCIAL_AUDIO]
    else:
        audio_input = ["-ss", f"{start:.6f}", "-t", f"{duration:.6f}", "-i", str(source)]
        audio = ["-map", "1:a:0?", *(["-c:a", "copy"] if sound == "aac" else media.SOCIAL_AUDIO)]
    command = [options.ffmpeg, "-hide_banner", "-nostdin", "-loglevel", "error", "-y", "-i", str(video),
               *audio_input, "-map", "0:v:0", "-c:v", "copy", *audio,
               "-movflags", "+faststart", "-f", "mp4", str(partial)]  # fmt: skip
    try:
        subprocess.run(command, check=True, capture_output=True, timeout=600)
    finally:
        if levelled:
            levelled.unlink(missing_ok=True)
