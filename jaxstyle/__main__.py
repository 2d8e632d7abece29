"""``python -m jaxstyle COMMAND [flags]``: the same as the ``jaxstyle`` console script."""
from .cli import entry

entry()
