"""``scarce search``: the race of a recipe's remedies (:mod:`~scarce.search.race`) and its report
(:mod:`~scarce.search.report`)."""


def __getattr__(name):  # lazy: the race imports torch only when used
    if name in ("Search", "search"):
        from scarce.search import race

        return getattr(race, name)
    raise AttributeError(f"module 'scarce.search' has no attribute {name!r}")


__all__ = ["Search", "search"]
