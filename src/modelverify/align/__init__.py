"""Numerical alignment: the served model against the checkpoint it claims to serve."""
