"""A still of how a Q&A's clips will look before they are cut: the source's frame at the Q&A, framed to
the chosen shape, its captions drawn in the chosen style and place by the same ASS and ffmpeg filters the
cut uses (`media.render_preview`), so the page shows what the clip will show.

A crop that follows the speaker (framing "follow" or "split") is not worked out here: it needs the faces and
voices of the whole Q&A (`reframe.shape_crop`: about 14 s for a minute of 720p, too slow for a still drawn
again at every change; the few seconds around the still alone often tie a voice to the wrong face), so the
still shows the middle of the picture and the page says the cut finds the speaker."""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path

from config import Settings
from operations import transcripts
from operations.unit_of_work import UnitOfWork
from pipeline import media, subtitles
from pipeline.errors import StepError
from pipeline.options import CutOptions, caption_names
from pipeline.types import Word
from store.records import ExchangeRecord, VideoRecord

SAMPLE = "Your captions will look like this"  # shown when the Q&A has no transcript yet
SAMPLE_WORD_SECONDS = 0.4
CENTRE = 0.5  # where the still's crop sits when the cut's crop will follow the speaker


class PreviewUnavailable(StepError):
    """No preview can be drawn (no video on disk yet); the message says what to do."""


@dataclass(frozen=True)
class Look:
    """How a Q&A's clips look: shape and crop, caption style ("none": no captions), place and names."""

    shape: str = "original"
    crop_x: float = 0.5
    captions: str = "none"
    position: str = "bottom"
    names: bool | None = None  # None: as the shape suggests (`options.caption_names`)
    framing: str = "follow"  # follow, fixed (at crop_x) or split: framing.FRAMINGS


def stored_look(exchange: ExchangeRecord, burn_by_default: bool) -> Look:
    """The look the exchange's next cut will have."""
    captions = subtitles.burned_caption_style(exchange.captions, burn_by_default) or "none"
    return Look(
        exchange.shape, exchange.crop_x, captions, exchange.caption_position, exchange.caption_names, exchange.framing
    )


def clip_preview(
    uow: UnitOfWork, settings: Settings, video: VideoRecord, exchange: ExchangeRecord, look: Look
) -> bytes:
    """A JPEG of the Q&A's opening as a clip with this look, its captions caught mid-caption."""
    source = Path(video.video_path or "")
    if not video.video_path or not source.is_file():
        raise PreviewUnavailable("the video is not downloaded yet: a preview needs its picture")
    info = media.probe(source)
    width, height = media.frame_size(look.shape, info.width or 0, info.height or 0)
    crop_x = look.crop_x if look.framing == "fixed" else CENTRE  # a following crop is found when cutting
    options = CutOptions(ffmpeg=media.ffmpeg_binary(settings.ffmpeg_path), shape=look.shape, crop_x=crop_x)
    layout = subtitles.CaptionLayout(width, height, look.position, caption_names(look.names, look.shape))
    cues = subtitles.clip_cues(transcripts.subtitle_cues(uow.conn, video.id), exchange.start_time, exchange.end_time)
    cues = cues or [_sample_cue()]
    with tempfile.TemporaryDirectory(prefix="preview-") as folder:
        captions, moment = None, 0.0
        if look.captions != "none":
            captions = Path(folder) / "preview.ass"
            captions.write_text(subtitles.to_ass(cues, look.captions, layout))
            moment = subtitles.preview_moment(cues, look.captions, layout)
        at = min(exchange.start_time + moment, max(exchange.end_time - 0.05, exchange.start_time))
        jpeg = media.render_preview(source, at, moment, options, Path(folder) / "preview.jpg", subtitles_path=captions)
        return jpeg.read_bytes()


def _sample_cue() -> subtitles.Cue:
    words = tuple(
        Word(index * SAMPLE_WORD_SECONDS, (index + 0.9) * SAMPLE_WORD_SECONDS, word)
        for index, word in enumerate(SAMPLE.split())
    )
    return subtitles.Cue(0.0, words[-1].end, SAMPLE, None, words)
