"""Publish a run: the JSON summary, the findings page of the data docs and the terminal table."""
