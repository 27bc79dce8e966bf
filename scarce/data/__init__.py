"""Data layer: labelled and unlabelled datasets, loaders with a data root, and scarce subsets."""

from scarce.data.datasets import (
    ArrayDataset,
    ConcatDataset,
    ImageFolderDataset,
    LabelledDataset,
    Subset,
    as_image_array,
    validate_labels,
)
from scarce.data.dedup import fingerprints, overlap
from scarce.data.loaders import DATASETS, DatasetBundle, list_datasets, load_dataset, resolve_root
from scarce.data.subsets import SubsetSplit, long_tailed_counts, long_tailed_subset, stratified_subset
from scarce.data.pseudo import PseudoLabelled
from scarce.data.unlabelled import (
    UnlabelledDataset,
    check_unlabelled,
    hide_labels,
    read_unlabelled,
)

__all__ = [
    "ArrayDataset", "ConcatDataset", "DATASETS", "DatasetBundle", "ImageFolderDataset", "LabelledDataset",
    "PseudoLabelled", "Subset", "SubsetSplit", "UnlabelledDataset", "as_image_array", "check_unlabelled",
    "fingerprints", "hide_labels", "list_datasets", "load_dataset", "long_tailed_counts", "long_tailed_subset",
    "overlap", "read_unlabelled", "resolve_root", "stratified_subset", "validate_labels",
]
