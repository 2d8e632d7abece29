#!/usr/bin/env python3
"""Object-only style transfer. With no arguments: the bundled dog photo + Starry Night. See --help."""
import sys

from jaxstyle.cli import run_main
from jaxstyle.stylize_cli import main

sys.exit(run_main(main))
