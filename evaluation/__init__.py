"""The FLAME metric: confusion matrices, frame offsets, protocols and data sets.

Depends on numpy and OpenCV only; never on torch or on ``flame.runtime``.
"""
