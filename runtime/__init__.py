"""Deployment runtime: model card, engines, sources and the real-time loop.

Depends on numpy and OpenCV; engine backends (ONNX Runtime, TensorRT,
torch) are imported only when an engine of that kind is loaded. Never imports
torch or ``flame.evaluation`` at import time.
"""
