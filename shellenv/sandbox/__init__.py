"""Local emulators of the services shellenv talks to (IdPs, STS, console sign-in), for tests and demos.

Nothing here is imported by the shellenv command itself; none of it is fit to guard a real secret.
"""
