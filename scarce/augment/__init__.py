"""Augmentation libraries (image, text, audio, batch mixing). Each submodule imports its backend lazily."""
