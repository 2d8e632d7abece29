"""Style transfer onto one object: losses, the object map, the optimiser, the stylize pipeline."""
