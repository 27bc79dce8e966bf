"""scarce: measure which remedy helps a classifier when labelled data is scarce.

Importing ``scarce`` is cheap: it loads neither torch nor any optional backend; submodules
(``scarce.data``, ``scarce.train``, ``scarce.experiment``...) load what they need when used.
"""

__version__ = "0.1.0"
__all__ = ["__version__", "load_model"]


def __getattr__(name):  # lazy: `scarce.load_model` imports torch only when used
    if name == "load_model":
        from scarce.deliver.saved_model import load_model

        return load_model
    raise AttributeError(f"module 'scarce' has no attribute {name!r}")
