"""Matplotlib figures of the book: the paper's reported numbers beside this build's, with the profile banner."""

from __future__ import annotations

import os
from typing import Any

import matplotlib  # noqa: F401
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

__all__ = ["banner_text", "add_banner", "add_caption", "CAPTIONS", "grouped_bars", "bars_reported_vs_build", "lines",
           "ratio_bars"]

CAPTIONS = {
    "bars": "What to compare: which bar is higher within each panel, the paper's (left) against this build's (right); "
            "each panel has its own scale.",
    "lines": "What to compare: the shape of each line (rising, flat, falling) against the paper's; the values are on "
             "this profile's scale.",
    "ratios": "What to compare: the bars of each language; a sampled share should sit on its target.",
}

SHORT = {
    "tiny": "profile tiny: smoke-scale model and data, not comparable to the paper",
    "paper": "profile paper: the paper's scale",
    "released": "profile released: public checkpoints, real test sets",
}


def banner_text(profile: str) -> str:
    """The one-line profile banner written on every figure."""
    rehearsal = (
        " (REHEARSAL: tiny random stand-ins, offline; the numbers mean nothing)"
        if os.environ.get("ALMA_REHEARSAL")
        else ""
    )
    return "This build: " + SHORT.get(profile, f"profile {profile}") + rehearsal


def add_banner(fig: plt.Figure, profile: str) -> plt.Figure:
    """Write the profile banner along the bottom of a figure.

    Used by notebooks/add_language_pair.ipynb, appE_off_target.ipynb.
    """
    if not getattr(fig, "_alma_banner", False):
        fig.text(0.5, 0.005, banner_text(profile), ha="center", va="bottom", fontsize=8, color="#8a1c1c",
                 style="italic")
        fig._alma_banner = True
    return fig


def add_caption(fig: plt.Figure, text: str) -> plt.Figure:
    """Write a one-line caption saying what to compare above the banner (once per figure; the book's figures)."""
    if text and not getattr(fig, "_alma_caption", False):
        fig.subplots_adjust(bottom=max(fig.subplotpars.bottom, 0.2))
        fig.text(0.5, 0.045, text, ha="center", va="bottom", fontsize=8, color="#333333", wrap=True)
        fig._alma_caption = True
    return fig


def grouped_bars(ax: plt.Axes, table: pd.DataFrame, title: str = "", ylabel: str = "") -> plt.Axes:
    """Bars grouped by column (language), one colour per row (system); NaN cells are left empty.

    Used by notebooks/add_language_pair.ipynb, appE_off_target.ipynb.
    """
    numeric = table.apply(pd.to_numeric, errors="coerce")
    n_rows = max(len(numeric.index), 1)
    width = 0.8 / n_rows
    x = np.arange(len(numeric.columns))
    for i, (system, row) in enumerate(numeric.iterrows()):
        ax.bar(x + (i - (n_rows - 1) / 2) * width, row.to_numpy(dtype=float), width, label=str(system))
    ax.set_xticks(x, [str(c) for c in numeric.columns])
    ax.set_title(title, fontsize=10)
    ax.set_ylabel(ylabel)
    ax.legend(fontsize=7, frameon=False)
    ax.grid(axis="y", alpha=0.3)
    return ax


def bars_reported_vs_build(reported: pd.DataFrame, build: pd.DataFrame | None, *, profile: str,
                           metric: str = "BLEU", title: str = "", caption: str = CAPTIONS["bars"]) -> plt.Figure:
    """Two panels: the paper's numbers (left) and this build's (right), each on its own scale.

    Used by notebooks/appH_human_written_data.ipynb, appI_icl.ipynb, appJ_crosslingual.ipynb and 3 more.
    """
    fig, axes = plt.subplots(1, 2, figsize=(11, 3.8))
    grouped_bars(axes[0], reported, f"Reported in the paper ({metric})", metric)
    if build is not None and len(build) and build.apply(pd.to_numeric, errors="coerce").notna().any().any():
        grouped_bars(axes[1], build, f"This build, profile {profile} ({metric})", metric)
    else:
        axes[1].text(0.5, 0.5, f"{metric}: not computed in this build", ha="center", va="center")
        axes[1].set_axis_off()
    if title:
        fig.suptitle(title, fontsize=11)
    fig.tight_layout(rect=(0, 0.1, 1, 1))
    return add_caption(add_banner(fig, profile), caption)


def lines(frame: pd.DataFrame, x: str, y: str, hue: str, *, profile: str, title: str = "",
          ax: plt.Axes | None = None, marker: str = "o", caption: str = CAPTIONS["lines"],
          xscale: str | None = None, ylabel: str | None = None, **scale: Any) -> plt.Figure:
    """One line per `hue` value of `y` against `x` (data-size curves, checkpoints every N tokens).

    Used by notebooks/appA_objectives.ipynb, sec3_parallel_data.ipynb, sec6_1_monolingual_tokens.ipynb.
    """
    if ax is None:
        fig, ax = plt.subplots(figsize=(6, 3.8))
    else:
        fig = ax.figure
    for name, group in frame.groupby(hue, sort=False):
        ax.plot(group[x], group[y], marker=marker, label=str(name))
    ax.set_xlabel(x)
    ax.set_ylabel(ylabel or y)
    if xscale:  # data sizes: log (Figure 4) or symlog with zero-shot at 0 (Figure 6)
        ax.set_xscale(xscale, **scale)
    ax.set_title(title, fontsize=10)
    ax.legend(fontsize=7, frameon=False)
    ax.grid(alpha=0.3)
    fig.tight_layout(rect=(0, 0.1, 1, 1))
    return add_caption(add_banner(fig, profile), caption)


def ratio_bars(ratios: pd.DataFrame, *, profile: str, title: str = "", ylabel: str = "sampling ratio",
               caption: str = CAPTIONS["ratios"]) -> plt.Figure:
    """Bars of language ratios, one group per language, one colour per column (e.g. paper vs. recomputed).

    Used by notebooks/appD_sampling.ipynb, sec4_recipe.ipynb.
    """
    fig, ax = plt.subplots(figsize=(7, 3.6))
    grouped_bars(ax, ratios.T, title, ylabel)
    fig.tight_layout(rect=(0, 0.1, 1, 1))
    return add_caption(add_banner(fig, profile), caption)


def close(fig: Any) -> None:
    """Close a figure after it was displayed (keeps notebook memory flat)."""
    plt.close(fig)
