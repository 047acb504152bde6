"""reach_dq/contract"""
