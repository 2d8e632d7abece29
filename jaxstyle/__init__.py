"""jaxstyle: style transfer onto one object of a photo, steered by VGG-19 filters chosen per class."""
from . import _xla

_xla.configure()  # CPU XLA flags must be set before JAX starts

__version__ = "0.1.0"
