"""The web app for departments (`assess serve`): city staff upload and check, managers download, analysts read
through /api/; every page and path goes through the library's desk, which keeps each city to its own firms."""
