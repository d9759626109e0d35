"""The separation engine: audio I/O, STFT, the U-Net mask model, separation, training, evaluation.

The plain entry points are :func:`engine.predict.load_model` and :func:`engine.predict.separate`.
"""
