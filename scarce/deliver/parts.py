"""A model a remedy built, described for a model card and rebuilt from the description alone.

The modality's pipeline describes the model it builds (:mod:`scarce.experiment.pipelines`). A
remedy that replaces or wraps the setup's ``model_fn`` or ``collate`` (a pretrained backbone, a
frozen-feature probe, cRT, a post-hoc logit adjustment) makes its model deliverable by ``scarce
train`` through a plug-in protocol, with no special case by remedy name:

* the remedy class declares ``deliverable = True`` (the :class:`~scarce.remedies.base.Remedy`
  base's default is ``False``), so that ``scarce train`` refuses a remedy that cannot describe its
  model before any work (:func:`check_deliverable`);
* every ``model_fn`` or ``collate`` object it puts in the setup defines ``card_part(describe)``: a
  JSON-able description whose ``kind`` is registered in :data:`PARTS`; ``describe(obj)`` describes
  a part the object wraps (nested in the description, e.g. under ``inner``);
* the class :data:`PARTS` registers under that ``kind`` rebuilds the part from its description
  with ``from_card(description, build)`` (``build`` rebuilds a nested part): a ``model_fn``, or for
  a collate the pair ``(collate, front)``, ``front`` building the frozen module its examples pass
  through (``None``: none);
* a collate whose examples pass through a frozen module (a feature extractor) also defines
  ``delivered() -> (collate of raw inputs, module)``; the saved model is then
  :class:`~scarce.backbones.base.FrontThen` (that module, then the trained model), so that every
  weight, the frozen backbone's included, is in ``model.safetensors``.

Rebuilding reads no pretrained weights (architectures are built with ``pretrained=False``); the
weights come from the saved file only. A part that the pipeline built is ``{"kind": "pipeline"}``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from scarce.remedies.composition import changes_of, leaves
from scarce.registry import Registry

REBUILT_PARTS = ("model_fn", "collate")
"""Parts of the setup a saved model is rebuilt from; a remedy changing them must be ``deliverable``."""

PIPELINE = "pipeline"

PARTS = Registry("model-card part")
PARTS.register("probe_head", "scarce.remedies.transfer:HeadFn", role="model",
               help="a linear head on standardised frozen features")
PARTS.register("transfer_model", "scarce.remedies.transfer:FinetuneModelFn", role="model",
               help="a backbone (built without pretrained weights) and a new head, with its freezing strategy")
PARTS.register("backbone_preprocess", "scarce.backbones.base:Collate", role="collate",
               help="resize, grey channel, (x/255 - mean)/std for a backbone")
PARTS.register("frozen_features", "scarce.remedies.transfer:FeatureCollate", role="collate",
               help="a frozen backbone's pooled features: the backbone runs inside the saved model")
PARTS.register("posthoc_logit_adjust", "scarce.remedies.balance:PosthocModelFn", role="model",
               help="logits minus tau * log prior in eval mode")
PARTS.register("crt", "scarce.remedies.balance:CRTModelFn", role="model",
               help="the model cRT trained (its phase hook is idle in eval mode)")


def check_deliverable(remedy: Any, label: str) -> None:
    """Refuse, before any work, a remedy that changes the model or collate without declaring
    ``deliverable`` (its parts could not be described for a card).

    Raises:
        ValueError: naming the remedy and the part it changes.
    """
    for leaf in leaves([remedy]):
        changed = sorted(set(changes_of(leaf).changed) & set(REBUILT_PARTS))
        if changed and leaf.deliverable is not True:
            raise ValueError(
                f"Remedy '{label}' changes the model's `{changed[0]}` ('{leaf.name}' replaces or wraps the pipeline's "
                "model) and cannot describe that model for a card (it does not declare `deliverable`), so "
                "`scarce train` cannot save it. Choose a remedy that trains the recipe's model (augmentation, "
                "rows, sampler, loss) or a deliverable one (`linear_probe`, `finetune`, `crt`...).")


def describe(obj: Any, *, base: Any) -> dict:
    """The card description of a setup's ``model_fn`` or ``collate`` ``obj``; ``base`` is the setup
    before the remedy (its parts are the pipeline's, ``{"kind": "pipeline"}``).

    Raises:
        ValueError: an object without ``card_part`` or whose ``kind`` is not registered.
    """
    if obj is base.model_fn or obj is base.collate:
        return {"kind": PIPELINE}
    hook = getattr(obj, "card_part", None)
    if hook is None:
        raise ValueError(f"The setup's {type(obj).__name__} cannot describe itself for a model card (it has no "
                         "`card_part`); its remedy cannot be saved by `scarce train`.")
    part = dict(hook(lambda inner: describe(inner, base=base)))
    PARTS.get(part.get("kind", ""))  # an unregistered kind fails here, before anything is written
    return part


def card_parts(setup: Any, *, base: Any) -> dict:
    """``{"model": ..., "collate": ...}``: the descriptions of ``setup``'s model and collate."""
    return {"model": describe(setup.model_fn, base=base), "collate": describe(setup.collate, base=base)}


def inference_pair(model: Any, collate: Any) -> tuple[Any, Any]:
    """The module to save and the collate of raw inputs: a collate that runs a frozen module
    (``delivered()``) moves it into the saved module, in front of the trained ``model``."""
    hook = getattr(collate, "delivered", None)
    if hook is None:
        return model, collate
    from scarce.backbones.base import FrontThen

    raw, front = hook()
    return FrontThen(front, model), raw


def _built(description: Mapping[str, Any], role: str, build: Callable) -> Any:
    kind = description.get("kind")
    meta = PARTS.meta(kind)
    if meta.get("role") != role:
        raise ValueError(f"Card part of kind '{kind}' is a {meta.get('role')} part; expected a {role} part.")
    return PARTS.get(kind).from_card(description, build)


def rebuild(parts: Mapping[str, Any] | None, *, model_fn: Callable, collate: Any) -> tuple[Callable, Any]:
    """``(model_fn, collate)`` from a card's ``model_parts``; ``model_fn`` and ``collate`` are the
    pipeline's (what a ``{"kind": "pipeline"}`` part is). No pretrained weight is read.

    Raises:
        ValueError: an unknown kind, or a part in the wrong place.
    """
    parts = parts or {"model": {"kind": PIPELINE}, "collate": {"kind": PIPELINE}}

    def build_model(description: Mapping[str, Any]) -> Callable:
        return model_fn if description.get("kind") == PIPELINE else _built(description, "model", build_model)

    built_model = build_model(parts["model"])
    if parts["collate"].get("kind") == PIPELINE:
        return built_model, collate
    rebuilt_collate, front = _built(parts["collate"], "collate", build_model)
    if front is None:
        return built_model, rebuilt_collate

    def fronted(num_classes: int):
        from scarce.backbones.base import FrontThen

        return FrontThen(front(), built_model(num_classes))

    return fronted, rebuilt_collate
