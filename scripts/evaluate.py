#!/usr/bin/env python3
"""Score object-only stylization on masked photos and render galleries. See --help."""
import sys

from jaxstyle.cli import run_main
from jaxstyle.evaluate import main

sys.exit(run_main(main))
