"""The package version: read by the build (pyproject.toml), the command line and the HTTP User-Agent."""

__version__ = "0.1.0"
