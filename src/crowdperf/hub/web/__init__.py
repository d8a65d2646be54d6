"""The hub's web application: pages, JSON API, uploads, the static site and the server."""
