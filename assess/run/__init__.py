"""Assessment runs: the loader of every pack of a rule folder, executing a year into a stored run, and what reads
runs back (targets, explanations, what-if comparisons, the rules documentation)."""
