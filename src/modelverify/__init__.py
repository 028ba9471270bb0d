"""modelverify: prove, with evidence, that a model is fully adapted to a serving stack."""

__version__ = "0.1.0"

__all__ = ["__version__"]
