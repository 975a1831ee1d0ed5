"""Stand-ins for real apps' SCIM dialects, as thin layers over scim2-server 0.8.3.

Each module holds one dialect. The shared machinery is in ``core``: the
scim2-server back end every dialect stores its resources in, the WSGI
application, the HTTP replies and the authentication schemes.
"""
