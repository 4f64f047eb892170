//! Calls into code that may never answer (a keychain daemon, a PKCS#11 device waiting for a
//! touch, a hung network HSM), given up after a while.

use std::sync::mpsc;
use std::time::Duration;

/// Runs `op` on its own thread; `None` if it has not answered within `timeout`. The thread
/// is left behind, which is fine for a short-lived process: it ends with the process.
pub fn within<T: Send + 'static>(timeout: Duration, op: impl FnOnce() -> T + Send + 'static) -> Option<T> {
    let (tx, rx) = mpsc::sync_channel(1);
    std::thread::spawn(move || {
        let _ = tx.send(op());
    });
    rx.recv_timeout(timeout).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_answer_comes_back_and_a_hung_call_is_given_up() {
        assert_eq!(within(Duration::from_secs(60), || 7), Some(7));
        let (_keep, never) = mpsc::channel::<()>();
        assert_eq!(within(Duration::from_millis(1), move || never.recv().ok()), None);
    }
}
