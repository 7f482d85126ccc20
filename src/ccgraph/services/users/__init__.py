"""Users: reading them, their fields, the checks of a user row, and the use cases that change them."""
