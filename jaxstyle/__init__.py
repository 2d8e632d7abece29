"""jaxstyle: style transfer onto one object of a photo, steered by VGG-19 filters chosen per class.

Importing the package changes nothing outside it: no environment variables, no files, no
subprocesses.
"""

__version__ = "0.1.0"
