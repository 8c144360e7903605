"""Report the end of an external provisioning engine's workflow to AWS Service Catalog, exactly once."""

# The one version: pyproject.toml and the template's SemanticVersion say the same (tests/unit/test_publishing.py).
__version__ = "0.3.0"
