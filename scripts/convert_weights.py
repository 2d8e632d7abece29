#!/usr/bin/env python3
"""Convert real VGG-19 weights to weights/vgg19.npz. See --help."""
import sys

from jaxstyle.cli import run_main
from jaxstyle.convert_cli import main

sys.exit(run_main(main))
