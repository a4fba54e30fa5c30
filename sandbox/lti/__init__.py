"""The simulated Canvas as an LTI 1.3 platform (see ``platform``)."""
