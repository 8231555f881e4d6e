"""The ``trio-bucket`` command-line runner."""
