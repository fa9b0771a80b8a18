"""The ONNX model in the ``seldon-core`` Python wrapper, for the Kubernetes serving image.

``onnx_seldon_model.py`` is copied alone into that image (see the template's ``serving/``), so
it depends on numpy, onnxruntime and the standard library only.
"""
