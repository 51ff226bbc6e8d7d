"""ffmpeg and media probing: the one place that builds ffmpeg command lines.

ffmpeg comes from FFMPEG_PATH, else PATH, else the binary that `imageio-ffmpeg` ships, so a fresh
machine needs no system package. Probing uses PyAV (installed with faster-whisper), which needs no
ffprobe binary.
"""

from __future__ import annotations

import logging
import math
import shutil
import subprocess
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from fractions import Fraction
from functools import cache
from pathlib import Path

import av

from pipeline import fonts, loudness
from pipeline.errors import StepError
from pipeline.options import CutOptions
from pipeline.types import Progress

log = logging.getLogger(__name__)


class MediaError(StepError):
    """A media file could not be read or converted; the message says what to do."""


MODEL_SAMPLE_RATE = 16_000  # what faster-whisper, senko and pyannote all expect


def read_samples(audio_path: Path | str):
    """The audio as 16 kHz mono float32 samples, decoded by PyAV as faster-whisper itself does."""
    from faster_whisper import decode_audio

    try:
        return decode_audio(str(audio_path), sampling_rate=MODEL_SAMPLE_RATE)
    except (av.error.FFmpegError, OSError) as error:
        raise MediaError(f"cannot read the extracted audio ({_reason(error)}): run Extract audio again") from error


def read_pcm16(audio_path: Path | str):
    """The audio step's WAV (16 kHz mono 16-bit) as its 16-bit samples: half the memory of `read_samples`'
    floats, which an hour-long recording feels (115 MB less). `as_float` turns a piece of it into exactly
    what `read_samples` gives. Any other file is decoded by `read_samples`."""
    import soundfile

    try:
        info = soundfile.info(str(audio_path))
        if (info.samplerate, info.channels, info.subtype) == (MODEL_SAMPLE_RATE, 1, "PCM_16"):
            return soundfile.read(str(audio_path), dtype="int16")[0]
    except (RuntimeError, OSError):  # not a file soundfile reads: PyAV's decoder says what is wrong
        pass
    return read_samples(audio_path)


def as_float(samples):
    """16-bit samples as the float32 the models take, scaled as faster-whisper's decoder scales them."""
    import numpy as np

    return samples.astype(np.float32) / 32768.0 if samples.dtype == np.int16 else samples


def _reason(error: Exception) -> str:
    """What the decoder said, without the file's path (people are not shown the app's internal names)."""
    return getattr(error, "strerror", None) or error.__class__.__name__


@cache
def ffmpeg_binary(configured: str = "") -> str:
    """Resolve the ffmpeg executable once per process."""
    if configured:
        found = shutil.which(configured) or (configured if Path(configured).is_file() else None)
        if not found:
            raise MediaError(f"FFMPEG_PATH={configured!r} is not an executable file: fix the setting or leave it empty")
        return found
    on_path = shutil.which("ffmpeg")
    if on_path:
        return on_path
    import imageio_ffmpeg

    return imageio_ffmpeg.get_ffmpeg_exe()


@dataclass(frozen=True)
class MediaInfo:
    duration: float
    width: int | None
    height: int | None
    has_video: bool
    has_audio: bool
    container: str = ""  # ffmpeg's demuxer names, e.g. "mov,mp4,m4a,3gp,3g2,mj2"
    frame_rate: float | None = None  # frames per second of the picture, as the stream says
    audio_channels: int | None = None  # of the first sound stream
    audio_rate: int | None = None  # its samples per second


def probe(path: Path | str) -> MediaInfo:
    """Duration and stream facts of a media file."""
    try:
        with av.open(str(path)) as container:
            # a stream with no decoder (an SVG's picture) has no codec context: as good as absent
            video = next((s for s in container.streams.video if s.codec_context is not None), None)
            audio = next((s for s in container.streams.audio if s.codec_context is not None), None)
            duration = _duration_seconds(container, video, audio)
            return MediaInfo(
                duration=duration,
                width=video.codec_context.width if video else None,
                height=video.codec_context.height if video else None,
                has_video=video is not None,
                has_audio=audio is not None,
                container=container.format.name or "",
                frame_rate=float(video.average_rate) if video is not None and video.average_rate else None,
                audio_channels=(audio.codec_context.channels or None) if audio is not None else None,
                audio_rate=(audio.codec_context.sample_rate or None) if audio is not None else None,
            )
    except (av.error.FFmpegError, OSError) as error:
        raise MediaError(
            f"cannot read the media file ({_reason(error)}): it may be damaged or not a video; "
            "download or upload it again"
        ) from error


def _duration_seconds(container, video, audio) -> float:
    if container.duration is not None:
        return container.duration / av.time_base
    for stream in (video, audio):
        if stream is not None and stream.duration is not None and stream.time_base is not None:
            return float(stream.duration * stream.time_base)
    return 0.0


def extract_audio(
    video_path: Path | str,
    wav_path: Path | str,
    ffmpeg: str,
    progress: Progress | None = None,
    duration: float = 0.0,
    stop_after: float | None = None,
) -> Path:
    """16 kHz mono 16-bit PCM WAV, the input every model here expects; written atomically.

    With `stop_after`, decoding stops there twice over: `-t` by the timestamps, and atrim by the samples
    counted, which no timestamp (all zero, say) can fool. Nothing is left behind when ffmpeg fails."""
    source = probe(video_path)
    if not source.has_audio:
        raise MediaError("the video has no sound track: choose a video with sound")
    wav_path = Path(wav_path)
    partial = wav_path.with_suffix(".partial.wav")
    stop = []
    if stop_after:
        samples = round(stop_after * MODEL_SAMPLE_RATE)
        stop = ["-af", f"aresample={MODEL_SAMPLE_RATE},atrim=end_sample={samples}", "-t", f"{stop_after:.3f}"]
    command = [ffmpeg, "-hide_banner", "-nostdin", "-loglevel", "error", "-y", "-i", str(video_path),
               "-vn", *stop, "-ac", "1", "-ar", str(MODEL_SAMPLE_RATE), "-c:a", "pcm_s16le",
               "-progress", "pipe:1", "-nostats", str(partial)]  # fmt: skip
    expected = duration or source.duration
    try:
        run_with_progress(command, progress, min(expected, stop_after) if stop_after else expected)
        partial.replace(wav_path)
    finally:
        partial.unlink(missing_ok=True)
    return wav_path


PACKET_READ_TIMEOUT_SECONDS = 300


def packet_seconds(path: Path | str, ffmpeg: str, stop_after: float | None = None, audio: bool = True) -> float:
    """How far the sound track's packets (else the picture's) run, by their timestamps: the length of a file
    whose header gives none. Packets are copied to nowhere, not decoded (an hour of Opus in under a second),
    and reading stops once past `stop_after`."""
    stop = ["-t", f"{stop_after:.3f}"] if stop_after else []
    command = [ffmpeg, "-hide_banner", "-nostdin", "-loglevel", "error", "-i", str(path),
               "-map", "0:a:0" if audio else "0:v:0", "-c", "copy", *stop, "-f", "null",
               "-progress", "pipe:1", "-nostats", "-"]  # fmt: skip
    try:
        result = subprocess.run(command, capture_output=True, text=True, timeout=PACKET_READ_TIMEOUT_SECONDS)
    except subprocess.TimeoutExpired as error:
        raise MediaError("reading the media file took too long: it may be damaged; try another copy") from error
    if result.returncode != 0:  # ffmpeg's words name the file's path: they go to the log, not to people
        log.warning("measuring %s failed: %s", path, result.stderr.strip()[-500:])
        raise MediaError("cannot read the media file's packets: it may be damaged; download or upload it again")
    times = [
        value
        for key, _, value in (line.partition("=") for line in result.stdout.splitlines())
        if key == "out_time_us" and value.lstrip("-").isdigit()
    ]
    return max(int(times[-1]) / 1e6, 0.0) if times else 0.0


def run_with_progress(command: list[str], progress: Progress | None, duration: float) -> None:
    """Run ffmpeg with `-progress pipe:1`, turning its out_time into progress(fraction)."""
    # stderr goes to a file, not a pipe: a chatty ffmpeg must never block on a full pipe we do not read.
    with tempfile.TemporaryFile(mode="w+") as errors:
        process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=errors, text=True)
        try:
            assert process.stdout is not None
            for line in process.stdout:
                key, _, value = line.strip().partition("=")
                if key == "out_time_us" and value.isdigit() and duration > 0 and progress:
                    progress(min(int(value) / 1e6 / duration, 0.99))
        except BaseException:  # a cancelled step or a time limit: stop ffmpeg, do not leave it running
            process.kill()
            process.wait()
            raise
        process.wait()
        errors.seek(0)
        stderr = errors.read()
    if process.wait() != 0:
        last = stderr.strip().splitlines()[-1] if stderr.strip() else f"exit code {process.returncode}"
        raise MediaError(f"ffmpeg failed: {last}")


def cut_clip(
    source: Path | str,
    dest: Path | str,
    start: float,
    end: float,
    options: CutOptions,
    *,
    subtitles_path: Path | str | None = None,
    progress: Progress | None = None,
    keyframes_at: Sequence[float] = (),
    crop: str | None = None,
) -> Path:
    """Cut [start, end] of a video into an MP4 ready for the web and for upload, written atomically so a
    failed cut leaves nothing.

    An accurate cut re-encodes (H.264/AAC, frame-exact, framed to its shape, can burn in subtitles whose
    times start at the clip's start, sound brought to `options.loudness`); otherwise streams are copied,
    which is fast but starts at the keyframe before `start`. `keyframes_at` (seconds from the clip's start)
    are where clips will be copied out of this one (`copy_out`): each gets a keyframe, and the picture has no
    B-frames, so a copy ends on its exact frame. `crop` replaces the fixed crop at `options.crop_x` (see
    `shape_filters`).
    """
    source, dest = Path(source), Path(dest)
    info = _check_cut(source, start, end, options.reencode, subtitles_path)
    dest.parent.mkdir(parents=True, exist_ok=True)
    partial, sound = dest.with_suffix(".partial.mp4"), None
    try:
        if options.reencode:
            sound = clip_sound(source, dest.with_suffix(".sound.wav"), start, end - start, options, info)
        command = _cut_command(
            source,
            partial,
            start,
            end - start,
            options,
            subtitles_path,
            keyframes_at,
            info=info,
            crop=crop,
            sound=sound,
        )
        _run_atomically(command, partial, dest, progress, end - start)
    finally:
        if sound:
            sound.unlink(missing_ok=True)
    return dest


def clip_sound(
    source: Path, dest: Path, start: float, duration: float, options: CutOptions, info: MediaInfo | None = None
) -> Path | None:
    """The clip's sound, brought to the loudness asked for, as a WAV to mux (`loudness.normalised_sound`);
    None when there is none to make (no loudness asked for, or no sound)."""
    info = info or probe(source)
    if options.loudness is None or not info.has_audio:
        return None
    return loudness.normalised_sound(source, dest, start, duration, options.loudness, options.ffmpeg)


@dataclass(frozen=True)
class Keyframes:
    """When each keyframe of a file's picture is shown (seconds from the file's start), and a frame's length."""

    times: tuple[float, ...]
    frame_seconds: float


def keyframes(path: Path | str) -> Keyframes:
    """Read from the packets: nothing is decoded."""
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        time_base = stream.time_base
        assert time_base is not None  # a stream read from a file has one
        offset = (container.start_time or 0) / av.time_base
        times = tuple(
            float(packet.pts * time_base) - offset
            for packet in container.demux(stream)
            if packet.is_keyframe and packet.pts is not None
        )
        rate = stream.average_rate
    return Keyframes(times, float(1 / rate) if rate else 0.04)


def copy_out(
    master: Path | str,
    keys: Keyframes,
    dest: Path | str,
    start: float,
    end: float,
    ffmpeg: str,
    sound: Callable[[float, float], Path | None] | None = None,
) -> Path | None:
    """[start, end] (seconds from the master's start) of a clip cut with a keyframe there (`keyframes_at`),
    its picture copied without encoding again; None when no keyframe is within a frame of `start`. The
    sound is copied too, unless `sound(start, duration)` (master's seconds) makes the clip its own (its
    loudness measured over the clip itself, not over the master).

    A stream copy from `-ss` drops the packets before it, so `-ss` goes a hair before the keyframe: a
    hair after would drop the keyframe itself and start on frames that cannot be decoded."""
    keyframe = min(keys.times, key=lambda time: abs(time - start), default=None)
    if keyframe is None or abs(keyframe - start) > keys.frame_seconds:
        return None
    begin = max(keyframe - 0.0005, 0.0)
    dest = Path(dest)
    partial = dest.with_suffix(".partial.mp4")
    own = sound(keyframe, end - keyframe) if sound else None
    try:
        inputs = ["-ss", f"{begin:.6f}", "-i", str(master), *(["-i", str(own)] if own else [])]
        streams = ["-map", "1:a:0", "-c:v", "copy", *SOCIAL_AUDIO] if own else ["-map", "0:a:0?", "-c", "copy"]
        command = [ffmpeg, "-hide_banner", "-nostdin", "-loglevel", "error", "-y", *inputs,
                   "-t", f"{end - begin:.6f}", "-map", "0:v:0", *streams,
                   "-movflags", "+faststart", "-f", "mp4", "-progress", "pipe:1", "-nostats", str(partial)]  # fmt: skip
        _run_atomically(command, partial, dest, None, end - begin)
    finally:
        if own:
            own.unlink(missing_ok=True)
    return dest


def _run_atomically(command: list[str], partial: Path, dest: Path, progress: Progress | None, duration: float) -> None:
    try:
        run_with_progress(command, progress, duration)
        partial.replace(dest)
    finally:
        partial.unlink(missing_ok=True)
    if progress:
        progress(1.0)


def _check_cut(source: Path, start: float, end: float, accurate: bool, subtitles_path: Path | str | None) -> MediaInfo:
    if not source.is_file():
        raise MediaError("the downloaded video is missing from disk: run Download again for this video")
    if subtitles_path is not None and not accurate:
        raise MediaError("burned-in subtitles need an accurate (re-encoded) cut: use CLIP_CUT_MODE=accurate")
    if subtitles_path is not None and not Path(subtitles_path).is_file():
        raise MediaError("the clip's subtitle file is missing: run Cut clips again")
    info = probe(source)
    if not info.has_video:
        raise MediaError(
            "the download has no picture (audio only): run Download again with a resolution that has video"
        )
    if not 0 <= start < end or (info.duration and start >= info.duration):
        raise MediaError(
            f"clip {start:.2f}–{end:.2f} s does not fit in the {info.duration:.1f} s video: define the clips again"
        )
    return info


def _cut_command(
    source: Path,
    partial: Path,
    start: float,
    duration: float,
    options: CutOptions,
    subtitles_path: Path | str | None,
    keyframes_at: Sequence[float] = (),
    *,
    info: MediaInfo | None = None,
    crop: str | None = None,
    sound: Path | None = None,
) -> list[str]:
    """-ss before -i seeks fast; with a re-encode ffmpeg still decodes up to the exact frame. `sound`: a
    WAV of the clip's own span (`clip_sound`) that replaces the source's sound."""
    inputs = ["-ss", f"{start:.3f}", "-i", str(source), *(["-i", str(sound)] if sound else [])]
    command = [options.ffmpeg, "-hide_banner", "-nostdin", "-loglevel", "error", "-y", *inputs,
               "-t", f"{duration:.3f}", "-map", "0:v:0", "-map", "1:a:0" if sound else "0:a:0?",
               "-sn", "-dn", "-map_chapters", "-1"]  # fmt: skip
    if options.reencode:
        filters = shape_filters(options, info, crop)
        if subtitles_path is not None:  # after framing, so the captions fit the frame people see
            filters.append(subtitle_filter(subtitles_path))
        command += ["-vf", ",".join(filters)] if filters else []
        command += [*_video_codec(options), "-profile:v", "high", "-pix_fmt", "yuv420p", *SOCIAL_AUDIO]
        if keyframes_at:  # B-frames decode after the frame they are shown before: a copy would end a frame off
            times = ",".join(f"{time:.3f}" for time in sorted(keyframes_at))
            command += ["-force_key_frames", times, "-forced-idr", "1", "-bf", "0"]
    else:
        command += ["-c", "copy", "-avoid_negative_ts", "make_zero"]
    return [*command, "-movflags", "+faststart", "-f", "mp4", "-progress", "pipe:1", "-nostats", str(partial)]


def _video_codec(options: CutOptions) -> list[str]:
    if options.encoder == NVENC:  # p4: NVENC's middle preset; constant quality like x264's CRF
        return ["-c:v", NVENC, "-preset", "p4", "-rc", "vbr", "-cq", str(options.crf), "-b:v", "0"]
    return ["-c:v", "libx264", "-preset", options.preset, "-crf", str(options.crf)]


NVENC = "h264_nvenc"


@cache
def video_encoder(ffmpeg: str, wanted: str = "auto") -> str:
    """The H.264 encoder clips are cut with: NVENC when asked (or "auto") and it encodes on this machine,
    checked once per process by encoding a few frames; else x264 on the CPU, with a warning when NVENC was
    asked for by name. ffmpeg builds list NVENC whether or not a GPU is there, so listing proves nothing."""
    if wanted == "libx264":
        return "libx264"
    command = [ffmpeg, "-hide_banner", "-nostdin", "-loglevel", "error", "-f", "lavfi",
               "-i", "color=size=256x256:duration=0.2", "-c:v", NVENC, "-f", "null", "-"]  # fmt: skip
    try:
        works = subprocess.run(command, capture_output=True, text=True, timeout=30).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        works = False
    if not works and wanted == NVENC:
        log.warning(
            "CLIP_VIDEO_ENCODER=h264_nvenc, but NVENC does not encode here (no NVIDIA GPU or driver): "
            "cutting with x264 on the CPU"
        )
    return NVENC if works else "libx264"


SOCIAL_AUDIO = ("-c:a", "aac", "-b:a", "160k", "-ar", "48000")  # what Reels, TikTok and Shorts take as it is
SHAPES = {"vertical": (1080, 1920), "square": (1080, 1080)}  # the platforms' sizes; "original" keeps the source's
MAX_FRAME_RATE = 30.0


def frame_size(shape: str, width: int, height: int) -> tuple[int, int]:
    """The size of a clip of this shape cut from a `width`×`height` picture."""
    return SHAPES.get(shape, (width, height))


def upscaled_from(shape: str, width: int | None, height: int | None) -> int | None:
    """The height of the source picture a clip of this shape is enlarged from, or None when it is not
    enlarged (its crop has as many lines as the clip, or more): a 720p source makes a 1080×1920 clip from
    720 lines, and the clip says so."""
    if shape not in SHAPES or not width or not height:
        return None
    out_width, out_height = SHAPES[shape]
    crop_height = min(height, width * out_height / out_width)
    return height if crop_height < out_height else None


def shape_crop(shape: str, crop_x: float) -> str:
    """ffmpeg's crop to the shape's proportions, as tall as the picture allows, placed across it by `crop_x`
    (0 left edge .. 1 right edge), even sized; "" for the original shape."""
    if shape not in SHAPES:
        return ""
    width, height = SHAPES[shape]
    x = min(max(float(crop_x), 0.0), 1.0)
    return (
        f"crop=w='trunc(min(iw,ih*{width}/{height})/2)*2':h='trunc(min(ih,iw*{height}/{width})/2)*2'"
        f":x='(iw-ow)*{x:.3f}':y='(ih-oh)/2'"
    )


def vertical_crop(crop_x: float) -> str:
    """The 9:16 crop (`shape_crop`), placed across the picture by `crop_x`."""
    return shape_crop("vertical", crop_x)


def shape_filters(options: CutOptions, info: MediaInfo | None, crop: str | None = None) -> list[str]:
    """The picture framed for its shape: cropped (at `options.crop_x`, or by `crop`, any ffmpeg filter that
    crops to the shape's proportions: a speaker-following crop whose x changes with time, say), scaled to the
    platform's size with lanczos (a smaller source is enlarged), square pixels; at most 30 frames a second,
    a faster source's rate divided down (60 → 30, 50 → 25)."""
    filters = []
    if options.shape in SHAPES:
        width, height = SHAPES[options.shape]
        filters += [
            crop or shape_crop(options.shape, options.crop_x),
            f"scale={width}:{height}:flags=lanczos",
            "setsar=1",
        ]
    rate = info.frame_rate if info else None
    if rate and rate > MAX_FRAME_RATE + 0.5:
        filters.append(f"fps={rate / math.ceil(rate / MAX_FRAME_RATE):.3f}")
    return filters


def subtitle_filter(path: Path | str) -> str:
    """ffmpeg's subtitles filter for an ASS file, drawn with the project's own fonts (`fonts.fonts_dir`)."""
    folder = fonts.fonts_dir()
    own_fonts = f":fontsdir={subtitle_filter_path(folder)}" if folder else ""
    return f"subtitles=filename={subtitle_filter_path(path)}{own_fonts}"


PREVIEW_HEIGHT = 640


def render_preview(
    source: Path | str,
    at: float,
    moment: float,
    options: CutOptions,
    dest: Path | str,
    *,
    subtitles_path: Path | str | None = None,
    crop: str | None = None,
    height: int = PREVIEW_HEIGHT,
) -> Path:
    """A JPEG of the source's frame at `at` seconds, framed as a clip with `options` would be, captions
    drawn as they are at `moment` seconds into the clip, then shrunk to `height` lines for the page."""
    source, dest = Path(source), Path(dest)
    if not source.is_file():
        raise MediaError("the downloaded video is missing from disk: run Download again for this video")
    filters = shape_filters(options, None, crop)
    if subtitles_path is not None:  # the captions' clock reads `moment` on this frame
        filters += [f"setpts=PTS-STARTPTS+{moment:.3f}/TB", subtitle_filter(subtitles_path)]
    filters.append(f"scale=-2:{height}:flags=lanczos")
    partial = dest.with_suffix(".partial.jpg")
    command = [options.ffmpeg, "-hide_banner", "-nostdin", "-loglevel", "error", "-y",
               "-ss", f"{max(at, 0.0):.3f}", "-i", str(source), "-frames:v", "1", "-an",
               "-vf", ",".join(filters), "-q:v", str(JPEG_QUALITY), "-f", "mjpeg", str(partial)]  # fmt: skip
    try:
        result = subprocess.run(command, capture_output=True, text=True, timeout=60)
        if result.returncode != 0 or not partial.is_file() or partial.stat().st_size == 0:
            last = result.stderr.strip().splitlines()[-1] if result.stderr.strip() else "no picture there"
            raise MediaError(f"cannot draw the preview (ffmpeg: {last})")
        partial.replace(dest)
    except subprocess.TimeoutExpired as error:
        raise MediaError("drawing the preview took too long: try again") from error
    finally:
        partial.unlink(missing_ok=True)
    return dest


def subtitle_filter_path(path: Path | str) -> str:
    """A file path escaped twice, as a filter option value and then for the filtergraph, so any name works."""
    value = str(Path(path).resolve())
    for specials in ("\\':", "\\'[],;"):
        value = "".join("\\" + char if char in specials else char for char in value)
    return value


POSTER_WIDTH = 320
JPEG_QUALITY = 4  # ffmpeg's -q:v scale: 2 best, 31 worst


def grab_frame(video_path: Path | str, jpeg_path: Path | str, at_seconds: float = 1.0) -> Path | None:
    """A JPEG still, 320 pixels wide, of the frame shown at `at_seconds` (the middle of a shorter video),
    for clips' posters and videos that come without a thumbnail; None when there is no picture. Decoded
    and encoded in this process: an ffmpeg run per clip cost twice as long."""
    jpeg_path = Path(jpeg_path)
    partial = jpeg_path.with_suffix(".partial.jpg")
    try:
        with av.open(str(video_path)) as container:
            if not container.streams.video:
                return None
            frame = _frame_at(container, at_seconds)
            if frame is None:
                return None
            partial.write_bytes(
                _jpeg(frame.reformat(width=POSTER_WIDTH, height=_even(frame, POSTER_WIDTH), format="yuvj420p"))
            )
        partial.replace(jpeg_path)
        return jpeg_path
    except (av.error.FFmpegError, OSError, ValueError):
        return None
    finally:
        partial.unlink(missing_ok=True)


def _frame_at(container, at_seconds: float):
    stream = container.streams.video[0]
    duration = _duration_seconds(container, stream, None)
    at = min(at_seconds, max(duration / 2, 0.0))
    target = int(at / stream.time_base) + (stream.start_time or 0)
    container.seek(target, stream=stream, backward=True)
    last = None
    for frame in container.decode(stream):
        last = frame
        if frame.pts is not None and frame.pts >= target:
            break
    return last


def _even(frame, width: int) -> int:
    return max(2, round(frame.height * width / frame.width / 2) * 2)


def _jpeg(picture) -> bytes:
    from av.codec.context import Flags

    encoder = av.CodecContext.create("mjpeg", "w")
    encoder.width, encoder.height, encoder.pix_fmt = picture.width, picture.height, "yuvj420p"
    encoder.time_base = Fraction(1, 25)
    encoder.flags |= Flags.qscale
    encoder.global_quality = JPEG_QUALITY * 118  # FF_QP2LAMBDA: what -q:v sets
    return b"".join(bytes(packet) for packet in [*encoder.encode(picture), *encoder.encode(None)])


def thumbnail_jpeg(source: Path | str, jpeg_path: Path | str, ffmpeg: str) -> Path | None:
    """Any picture a source offered, redrawn as a JPEG; None when ffmpeg cannot read it as an image.

    A thumbnail is never served as the site sent it: an SVG or HTML "image" would run script on
    this app's origin. The original is deleted either way.
    """
    source, jpeg_path = Path(source), Path(jpeg_path)
    partial = jpeg_path.with_suffix(".partial.jpg")
    command = [ffmpeg, "-hide_banner", "-nostdin", "-loglevel", "error", "-y", "-i", str(source),
               "-frames:v", "1", "-vf", "scale='min(640,iw)':-2", "-q:v", "4", "-f", "mjpeg", str(partial)]  # fmt: skip
    try:
        result = subprocess.run(command, capture_output=True, text=True, timeout=60)
        if result.returncode != 0 or not partial.is_file() or partial.stat().st_size == 0:
            return None
        partial.replace(jpeg_path)
        return jpeg_path
    except subprocess.TimeoutExpired:
        return None
    finally:
        partial.unlink(missing_ok=True)
        if source != jpeg_path:
            source.unlink(missing_ok=True)
