"""scarce: measure which remedy helps a classifier when labelled data is scarce.

Importing ``scarce`` is cheap: it loads neither torch nor any optional backend; submodules
(``scarce.data``, ``scarce.train``, ``scarce.experiment``...) load what they need when used.
"""

__version__ = "0.1.0"
__all__ = ["__version__"]
