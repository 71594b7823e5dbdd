"""Authentication and authorization for the API server (issue 8).

The seam between the two halves: authentication puts a `UserInfo` in the ASGI scope under
`USER_SCOPE_KEY` before any handler runs; authorization reads it from there. A request with no user in
its scope (the server started before authentication existed) is treated as `ADMIN`.
"""
