"""The assessment on Apache Spark. PySpark is the optional `spark` extra: this package is the only one that imports
it (import-linter checks that), and it does so inside the functions that need it, so that a machine without it
learns what to install instead of failing on import."""
