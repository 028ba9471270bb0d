"""accuracy stage."""
