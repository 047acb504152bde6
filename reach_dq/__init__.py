"""reach-dq: data-quality checks for partner implementations of the Reach API."""

__version__ = "0.1.0"
