"""Who may see and change what: the web app's users and tokens, the audit log, the JSON shapes both faces return,
and the desk, through which a face reads and writes the store for one user (a city user sees only its own city)."""
