#!/usr/bin/env python3
"""See what VGG-19 filters see: activation-maximisation images, top-9 sheets, index.md. See --help."""
import sys

from jaxstyle.cli import run_main
from jaxstyle.visualize_cli import main

sys.exit(run_main(main))
