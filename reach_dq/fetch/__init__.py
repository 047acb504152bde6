"""reach_dq/fetch"""
