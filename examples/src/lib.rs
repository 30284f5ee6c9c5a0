//! Example programs that embed the platform's libraries; see `examples/examples/`.
