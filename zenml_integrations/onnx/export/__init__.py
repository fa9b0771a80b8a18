"""Training-time export: scikit-learn to ONNX, the parity gate and the Triton layout."""
