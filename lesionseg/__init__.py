"""Shared code of the patch-based U-Net lesion segmentation scripts."""

__version__ = "0.1.0"
