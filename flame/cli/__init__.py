"""Command-line entry points: one thin click module per command."""
