"""Data layer: labelled datasets, loaders with a data root, and scarce subsets."""

from scarce.data.datasets import (
    ArrayDataset,
    ConcatDataset,
    ImageFolderDataset,
    LabelledDataset,
    Subset,
    as_image_array,
    validate_labels,
)
from scarce.data.loaders import DATASETS, DatasetBundle, list_datasets, load_dataset, resolve_root
from scarce.data.subsets import SubsetSplit, long_tailed_counts, long_tailed_subset, stratified_subset

__all__ = [
    "ArrayDataset", "ConcatDataset", "DATASETS", "DatasetBundle", "ImageFolderDataset", "LabelledDataset",
    "Subset", "SubsetSplit", "as_image_array", "list_datasets", "load_dataset", "long_tailed_counts",
    "long_tailed_subset", "resolve_root", "stratified_subset", "validate_labels",
]
