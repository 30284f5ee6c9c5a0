//! SIGTERM/SIGINT as a flag, for the standalone binary (a server embedding the manager handles
//! signals itself and calls [`crate::Manager::shutdown`]).

use std::sync::atomic::{AtomicBool, Ordering};

static STOP: AtomicBool = AtomicBool::new(false);

extern "C" fn on_signal(_: libc::c_int) {
    STOP.store(true, Ordering::SeqCst);
}

/// Installs handlers for SIGTERM and SIGINT that set the returned flag.
pub(crate) fn install() -> &'static AtomicBool {
    let handler: extern "C" fn(libc::c_int) = on_signal;
    // SAFETY: the handler only stores to an atomic, which is async-signal-safe.
    unsafe {
        libc::signal(libc::SIGTERM, handler as libc::sighandler_t);
        libc::signal(libc::SIGINT, handler as libc::sighandler_t);
    }
    &STOP
}
