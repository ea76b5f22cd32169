"""Export of trained checkpoints to ONNX, FP16 ONNX, TensorRT plans and torch.export programs."""
