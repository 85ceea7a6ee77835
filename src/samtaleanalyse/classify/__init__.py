"""Turn classifiers: the sentence encoder and (to come) the attitude and behaviour heads."""
from .encoder import ENCODER_NAME, E5Encoder

__all__ = ["ENCODER_NAME", "E5Encoder"]
