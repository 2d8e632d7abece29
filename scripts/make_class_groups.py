#!/usr/bin/env python3
"""Regenerate jaxstyle/data/class_groups.json from WordNet 3.0. See --help."""
import sys

from jaxstyle.cli import run_main
from jaxstyle.wordnet import main

sys.exit(run_main(main))
