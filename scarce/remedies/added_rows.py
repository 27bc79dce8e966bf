"""What ``synthetic`` and its control share: how many rows to add per class, and which share of
every training batch the added rows take.

Without ``share`` the added rows are appended and drawn like the real ones, so their share of a
batch is their share of the rows (50 synthetic images per class beside 8 real ones: 6 of every 7
draws). With ``share`` the remedy also sets the setup's sampler to a
:class:`~scarce.balance.share.ShareSampler`: every batch holds ``share`` added rows and
``1 - share`` real ones, to one image, whatever the pool sizes; the pool size (``n_per_class`` /
``ratio`` / ``fill``) then only sets how many different added images there are to draw from.
Because it replaces the sampler, a remedy with ``share`` cannot be chained with another one that
sets the sampler (``balanced_sampler``, ``crt``) nor with one that adds or resamples rows after or
before it (the sampler finds the added rows by position).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from scarce._checks import check_float, check_int
from scarce.remedies.base import Remedy, TrainSetup
from scarce.remedies.composition import Changes

_SHARE_ADVICE = ("With `share`, the sampler finds the added rows by their position in the training set: chain it "
                 "with no remedy that adds or resamples rows or sets the sampler (drop `share` to append the rows "
                 "as plain rows instead).")


@dataclass(frozen=True)
class ShareSamplerFn:
    """``sampler_fn`` of a remedy with ``share``: rows ``[start, stop)`` are the added pool.

    Called by the engine as ``sampler_fn(labels, seed=...)`` on the training rows the remedy built;
    any other number of rows means a later remedy changed them, which is refused with the reason.
    """

    start: int
    stop: int
    share: float

    def __call__(self, labels, *, seed: int):
        from scarce.balance.share import ShareSampler  # torch: only when a cell runs

        if len(labels) != self.stop:
            raise ValueError(f"The `share` sampler was built for {self.stop} training rows (added rows "
                             f"{self.start}..{self.stop - 1}) and got {len(labels)}: a later step changed the rows. "
                             + _SHARE_ADVICE)
        added = np.zeros(self.stop, bool)
        added[self.start:] = True
        return ShareSampler(added, share=self.share, seed=seed)


@dataclass(frozen=True, kw_only=True)
class AddedRows(Remedy):
    """Options of a remedy that adds rows per class: how many, and their share of every batch.

    How many per class (at most one): ``n_per_class`` (the same n for every class), ``ratio``
    (n = ratio × the class's real count; the default, 1.0) or ``fill=True`` (top every class up to
    the largest). ``share`` (0 < share < 1, default ``None``: the rows are drawn like real ones):
    the fraction of every training batch taken from the added rows.
    """

    n_per_class: int | None = None
    ratio: float | None = None
    fill: bool = False
    share: float | None = None

    def _check_added_rows(self) -> None:
        modes = sum([self.n_per_class is not None, self.ratio is not None, bool(self.fill)])
        if modes > 1:
            raise ValueError("Give at most one of `n_per_class`, `ratio` and `fill`, got "
                             f"n_per_class={self.n_per_class}, ratio={self.ratio}, fill={self.fill}.")
        if self.n_per_class is not None:
            check_int("n_per_class", self.n_per_class, minimum=0)
        if self.ratio is not None:
            check_float("ratio", self.ratio, low=0.0)
        if self.share is not None:
            from scarce.balance.share import check_share

            check_share(self.share)

    @property
    def changes(self) -> Changes:
        """Adds rows; with ``fill`` or ``n_per_class`` it also moves the class distribution; with
        ``share`` it sets the sampler and refuses any other remedy that changes the rows."""
        prior = {"class_prior"} if self.fill or self.n_per_class is not None else set()
        if self.share is None:
            return Changes(wraps={"train"}, replaces=prior, modalities={"image"})
        return Changes(wraps={"train"}, replaces=prior | {"sampler_fn"}, excludes={"train"}, modalities={"image"},
                       advice=_SHARE_ADVICE)

    def counts(self, real_counts: np.ndarray) -> np.ndarray:
        """Rows to add per class, given the real counts."""
        if self.fill:
            return real_counts.max() - real_counts
        if self.n_per_class is not None:
            return np.full_like(real_counts, self.n_per_class)
        return np.round(real_counts * (1.0 if self.ratio is None else self.ratio)).astype(np.int64)

    def with_share(self, setup: TrainSetup, *, start: int) -> TrainSetup:
        """``setup`` (whose rows ``[start, len)`` are the added ones) with the ``share`` sampler, if
        ``share`` is set and there are rows of both kinds; else ``setup`` unchanged."""
        stop = len(setup.train)
        if self.share is None or not 0 < start < stop:
            return setup
        return replace(setup, sampler_fn=ShareSamplerFn(start, stop, self.share)).with_notes(batch_share=self.share)
