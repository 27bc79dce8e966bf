"""``scarce preview RECIPE --out DIR``: check the arguments before any work, build the previews,
write them, and rebuild ``report.html`` when ``DIR`` is an ablation's results folder."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from scarce.experiment.config import load_config
from scarce.experiment.log import CONFIG, LOG
from scarce.preview.page import write_preview
from scarce.preview.run import preview_config


def preview_command(recipe: str | Path, *, out: str | Path, size: int | None = None, seed: int | None = None,
                    overrides: Sequence[str] = (), data_root: str | None = None, examples: int | None = None,
                    draws: int = 3) -> tuple[Path, bool]:
    """Write the previews of ``recipe`` into ``out``; returns ``(preview.html, report rebuilt)``.

    Args:
        recipe: a YAML experiment config.
        out: the output folder (created); if it holds an ablation's results (``results.jsonl`` and
            ``config.yaml``), its ``report.html`` is rebuilt with the previews in it.
        size, seed, data_root, examples, draws: see :func:`~scarce.preview.run.preview_config`.
        overrides: ``key=value`` config overrides (``--set``).

    Raises:
        NotADirectoryError: ``out`` is a file. FileNotFoundError: no such recipe.
        ValueError: a bad recipe, size or seed (all before anything is written).
    """
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise NotADirectoryError(f"`--out` must be a folder, got the file '{out}'.")
    config = load_config(recipe, overrides=list(overrides))
    preview = preview_config(config, size=size, seed=seed, data_root=data_root, examples=examples, draws=draws)
    page = write_preview(preview, out)
    if (out / LOG).exists() and (out / CONFIG).exists():
        from scarce.report.results import Results

        Results.from_dir(out).write(out)
        return page, True
    return page, False
