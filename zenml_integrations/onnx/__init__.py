"""ONNX conversion, the parity gate, and (later) serving for scikit-learn models."""
