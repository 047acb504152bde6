"""reach_dq/partner"""
