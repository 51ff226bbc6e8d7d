import pytest
import yt_dlp

from pipeline.download import InvalidURL, format_options, one_line_error, validate_url


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("", "empty URL"),
        ("   ", "empty URL"),
        (None, "empty URL"),
        ("file:///etc/passwd", "unsupported scheme (file:)"),
        ("ftp://example.org/a.mp4", "unsupported scheme (ftp:)"),
        ("javascript:alert(1)", "unsupported scheme (javascript:)"),
        ("example.org/watch", "unsupported scheme (no scheme)"),
        ("http://", "no host name"),
        ("https://exa mple.org/", "spaces"),
        ("http://example.org:99999/", "malformed URL"),
        ("http://[::1/", "malformed URL"),
        ("https://example.org/" + "a" * 3000, "longer than"),
    ],
)
def test_bad_urls_are_refused_with_a_reason(url, reason):
    with pytest.raises(InvalidURL) as caught:
        validate_url(url)
    assert reason in str(caught.value)


def test_good_url_is_trimmed():
    assert validate_url("  https://www.youtube.com/watch?v=abc  ") == "https://www.youtube.com/watch?v=abc"


def chosen(resolution: str, heights: list[int], codecs: tuple[str, ...] = ("avc1",)) -> dict:
    """Run yt-dlp's real format selection over synthetic formats and return the one it picks."""
    formats = [
        {
            "format_id": f"{codec}-{height}",
            "url": f"http://127.0.0.1/{height}.{codec}",
            "ext": "mp4",
            "height": height,
            "width": height * 16 // 9,
            "vcodec": codec,
            "acodec": "mp4a",
            "tbr": height * (2 if codec == "avc1.640028" else 3),
        }
        for height in heights
        for codec in codecs
    ]
    info = {"id": "x", "title": "x", "formats": formats, "extractor": "generic", "webpage_url": "http://127.0.0.1/"}
    with yt_dlp.YoutubeDL({"quiet": True, "simulate": True, **format_options(resolution)}) as ydl:
        return ydl.process_ie_result(info, download=False)


def choose(resolution: str, heights: list[int]) -> int:
    return chosen(resolution, heights)["height"]


@pytest.mark.parametrize(
    ("resolution", "heights", "expected"),
    [
        ("best", [360, 720, 1080], 1080),
        ("720", [360, 720, 1080], 720),
        ("480", [360, 720, 1080], 360),
        ("1080", [360, 720], 720),
        ("360", [480, 720, 1080], 480),  # none at or below: the lowest above
    ],
)
def test_resolution_choice(resolution, heights, expected):
    assert choose(resolution, heights) == expected


@pytest.mark.parametrize("resolution", ["best", "720"])
def test_h264_is_preferred_at_the_chosen_height(resolution):
    """Sites offer VP9 and AV1 beside H.264, often at a higher bitrate; an H.264 source is smart cut."""
    pick = chosen(resolution, [360, 720], ("vp09.00.40.08", "av01.0.08M.08", "avc1.640028"))
    assert (pick["height"], pick["vcodec"]) == (720, "avc1.640028")


def test_a_higher_resolution_still_wins_over_h264():
    formats = chosen("best", [720], ("avc1.640028",))["formats"] + chosen("best", [2160], ("vp09.00.50.08",))["formats"]
    info = {"id": "x", "title": "x", "formats": formats, "extractor": "generic", "webpage_url": "http://127.0.0.1/"}
    with yt_dlp.YoutubeDL({"quiet": True, "simulate": True, **format_options("best")}) as ydl:
        assert ydl.process_ie_result(info, download=False)["height"] == 2160


def test_unknown_resolution_is_refused():
    with pytest.raises(ValueError, match="resolution must be one of"):
        format_options("4k")


def test_yt_dlp_error_becomes_one_actionable_line():
    error = yt_dlp.utils.DownloadError(
        "\x1b[0;31mERROR:\x1b[0m [generic] video: Unable to download webpage: HTTP Error 404: Not Found "
        "(caused by <HTTPError 404: Not Found>)\nmore lines"
    )
    line = one_line_error(error, "http://127.0.0.1/video")
    assert line == "the page was not found (HTTP 404) (http://127.0.0.1/video): check the link"


@pytest.mark.parametrize(
    ("said", "expected"),
    [
        ("ERROR: [youtube] abc: Private video. Sign in if you've been granted access", "private or for members only"),
        ("ERROR: [youtube] abc: Video unavailable. This video has been removed by the uploader", "removed or is not"),
        ("ERROR: [youtube] abc: Sign in to confirm your age. This video may be inappropriate", "age-restricted"),
        (
            "ERROR: [generic] x: Unable to download webpage: <urlopen error [Errno 111] Connection refused>",
            "could not be reached",
        ),
        (
            "ERROR: [generic] x: Unable to download webpage: <urlopen error [Errno -3] Temporary failure in name "
            "resolution>",
            "could not be reached",
        ),
        ("ERROR: [generic] x: Unable to download webpage: HTTP Error 403: Forbidden", "refused access (HTTP 403)"),
        ("ERROR: Unsupported URL: https://example.org/page", "no video was found"),
        ("ERROR: [youtube] abc: Requested format is not available. Use --list-formats", "chosen resolution"),
    ],
)
def test_each_download_failure_says_what_went_wrong_and_what_to_do(said, expected):
    line = one_line_error(yt_dlp.utils.DownloadError(said), "https://user:pw@example.org/v")
    assert expected in line and "https://***@example.org/v" in line and "pw" not in line
    assert not line.startswith(("yt-dlp", "ERROR")) and "Errno" not in line and "\n" not in line


def test_an_unknown_failure_keeps_the_tool_text_short():
    line = one_line_error(yt_dlp.utils.DownloadError("ERROR: [x] y: something odd " + "z" * 500), "https://e.org/v")
    assert line.startswith("the download failed: something odd") and len(line) < 300


def test_duration_over_the_limit_is_refused_with_the_setting_named():
    from pipeline.limits import duration_refusal

    assert duration_refusal(3 * 3600, 14400) is None
    assert duration_refusal(None, 14400) is None
    assert duration_refusal(5 * 3600, 0) is None, "0 means no limit"
    reason = duration_refusal(5 * 3600, 14400)
    assert "MAX_VIDEO_DURATION_SECONDS=14400" in reason and "300 min" in reason


def test_match_filter_refuses_before_download(tmp_path, monkeypatch):
    from pipeline import download
    from pipeline.download import Limits, fetch
    from pipeline.limits import LimitExceeded

    info = {"id": "x", "title": "x", "duration": 7200, "url": "http://127.0.0.1:9/never.mp4", "ext": "mp4"}
    real = download._GuardedYoutubeDL
    monkeypatch.setattr(download, "_GuardedYoutubeDL", lambda options: _offline_ydl(real, options, info))
    with pytest.raises(LimitExceeded, match="MAX_VIDEO_DURATION_SECONDS=3600"):
        fetch("http://127.0.0.1:9/page", "best", tmp_path / "v", lambda f: None, None, Limits(3600, 0))
    assert not list(tmp_path.rglob("*.mp4"))


def _offline_ydl(real, options, info):
    """yt-dlp itself, with only the page read replaced by a fixed info dict (no network)."""

    class Offline(real):
        def extract_info(self, url, download=True, ie_key=None, extra_info=None, process=True, **kwargs):
            return dict(info)

    return Offline(options)


def test_free_disk_check_names_the_setting(tmp_path):
    from pipeline.limits import DiskFull, check_free_space

    check_free_space(tmp_path / "new" / "folder", 1)
    with pytest.raises(DiskFull, match="MIN_FREE_DISK_MB"):
        check_free_space(tmp_path, 2**62)
    with pytest.raises(DiskFull, match="MB needed"):
        check_free_space(tmp_path, 1, needed_bytes=2**62)
