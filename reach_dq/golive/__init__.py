"""Go-live readiness: HTTP probes of a partner's Reach API, and the scorecard that judges them.

``reach-dq golive`` runs what ``validate`` runs, then the probe stage (``run.py``): requests that
test how the partner handles wrong or unusual requests, a second pull of the statements, and the
latency of the fetch. Each concern has its own module. ``scorecard.py`` maps every finding to a
lifecycle test and gives the verdict, and ``page.py`` publishes it in the data docs.
"""
