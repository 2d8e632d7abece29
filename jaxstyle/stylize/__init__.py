"""The public stylize functions under their old path, ``jaxstyle.stylize``: re-exported from
:mod:`jaxstyle.transfer.stylize`, where they are defined (and where their names are looked up).

A package rather than ``stylize.py`` so that git follows the move of the old module's history to
``jaxstyle/transfer/stylize.py``.
"""
from ..transfer.stylize import stylize, stylize_batch, stylize_iter

__all__ = ["stylize", "stylize_iter", "stylize_batch"]
