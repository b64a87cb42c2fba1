"""Tiers: the cultivation lists (科技小巨人, 科技领军, 三高一核心) from gates, a ranking and quotas."""
