"""Parts of the Great Expectations runner: suite files, the GX context and result mapping.

The public entry point is ``reach_dq.gx_suites.run_suites``.
"""
