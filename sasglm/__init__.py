"""sasglm: run SAS programs for longitudinal and clustered data without SAS."""
__version__ = "0.1.0"
