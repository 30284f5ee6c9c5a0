//! SQLite database and state directory of the release platform.
