"""The released-outputs chapter's params (Tables 1-2 from the authors' released outputs, Sec. 5.1): where the release
comes from (fe1ixxu/ALMA at a pinned commit, or a synthetic tree in the same layout), its collections and systems.
"""

from __future__ import annotations

from pydantic import Field, field_validator

from alma_core.params.common import NotebookParams, _Strict, english_pair, langid_candidates
from alma_core.runs.strict import Direction
from alma_core.standins.released_synthetic import MAX_SEGMENTS

__all__ = ["OFFICIAL_REPO", "PINNED_COMMIT", "OFFICIAL_SOURCE", "ReleasedSystem", "ReleasedCollection",
           "ReleasedOutputsParams"]

OFFICIAL_REPO = "fe1ixxu/ALMA"
PINNED_COMMIT = "e932dad503a89bc494bf05700a5ffba420a8c9fd"  # the commit that added MADLAD-10B's outputs
OFFICIAL_SOURCE = f"https://raw.githubusercontent.com/{OFFICIAL_REPO}/{PINNED_COMMIT}"


class ReleasedSystem(_Strict):
    """One system folder of a collection and the Tables 1-2 row it is compared with (None: not in this paper)."""

    folder: str
    name: str | None = Field(None, description="name in the tables (default: the folder)")
    reported: str | None = Field(None, description="the paper's system in Tables 1-2, e.g. ALMA-13B-LoRA")
    setting: str = Field("", description="the paper's setting of that row, e.g. zero-shot for GPT-3.5-D")

    @property
    def label(self) -> str:
        """The system's name in the tables."""
        return self.name or self.folder


class ReleasedCollection(_Strict):
    """One `outputs/<collection>/` folder: its test year, directions and systems."""

    name: str = Field(description="folder under outputs/, e.g. wmt22_outputs")
    test_set: str = Field("wmt22", description="wmt22 (WMT'21 for is, as the paper) or wmt23")
    directions: list[Direction] = Field(min_length=1, description="codes checked after declared_languages")
    systems: list[ReleasedSystem] = Field(min_length=1)

    @field_validator("directions")
    @classmethod
    def _directions(cls, value: list[str]) -> list[str]:
        """English on one side (Sec. 5.1); the codes are checked with the file's declared languages known."""
        for direction in value:
            english_pair(direction)
        return value


class ReleasedOutputsParams(NotebookParams):
    """The released-outputs chapter: where the release comes from, what to score, and how COMET runs."""

    source: str = Field(OFFICIAL_SOURCE, description="base URL (https/http/file) or folder of the repository at a "
                        "pinned commit; `synthetic` = a generated tree in the same layout under the store")
    collections: list[ReleasedCollection] = Field(min_length=1)
    checksums: dict[str, str] = Field(default_factory=dict, description="sha256 pinned per relative path (optional)")
    synthetic_segments: int = Field(24, ge=2, le=MAX_SEGMENTS, description="segments per direction of `synthetic`")
    comet_model: str = Field("Unbabel/wmt22-comet-da", description="hub id, checkpoint path, `tiny` or `none`")
    comet_batch_size: int = Field(64, ge=1)
    comet_without_gpu: bool = Field(False, description="run COMET on a CPU too (hours for the real files)")
    off_target_candidates: list[str] | None = None
    timeout_s: float = Field(60.0, gt=0, description="seconds per HTTP request")

    @field_validator("off_target_candidates")
    @classmethod
    def _candidates(cls, value: list[str] | None) -> list[str] | None:
        """Language-ID codes py3langid identifies (App. E), checked before anything is scored."""
        return langid_candidates(value)
