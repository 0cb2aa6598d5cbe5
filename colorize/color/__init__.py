"""Every colour conversion colorize makes, in one place.

- `colorize.color.ycbcr`: NumPy and OpenCV, torch-free (the ONNX engine and the hint parser use it): BT.601
  YCbCr constants, chroma of RGB, the luminance-keeping merge, CIELAB a*b* for scoring.
- `colorize.color.tensors`: the same YCbCr in torch (differentiable, for losses and training) and CIELAB with
  Zhang et al.'s quantised ab bins.

Both share the constants defined in `ycbcr`; nothing here imports torch until `tensors` is imported.
"""
