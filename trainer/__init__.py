"""PyTorch models, data and training for static, future and two-frame prediction."""
