#!/usr/bin/env python3
"""Score VGG-19 filters for a class and select object filters. See --help."""
import sys

from jaxstyle.cli import run_main
from jaxstyle.score_cli import main

sys.exit(run_main(main))
