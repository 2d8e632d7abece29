"""The network: the VGG-19 module, its convolution algorithms, and weight sources and loading."""
