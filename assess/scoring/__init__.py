"""Scoring: the 三高一核心 classifier, the innovation-capacity index, and the reasons behind every score."""
