//! A throwaway Secret Service: a private dbus-daemon with gnome-keyring-daemon on it,
//! unlocked with a throwaway password, its files in a directory of the caller's.
//! Nobody's own keyring is touched. gnome-keyring-daemon leaves when its bus goes away.

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};

pub struct PrivateKeyring {
    address: String,
    bus_pid: String,
}

impl PrivateKeyring {
    /// Starts the bus and keyring with `home` as HOME; `run` must be a private directory
    /// (it holds the bus socket) and `data` is where the keyring files go.
    pub fn start(home: &Path, run: &Path, data: &Path) -> Result<PrivateKeyring, String> {
        let command = |program: &str| {
            let mut cmd = Command::new(program);
            cmd.env_clear()
                .env("PATH", std::env::var_os("PATH").unwrap_or_default())
                .env("HOME", home)
                .env("XDG_RUNTIME_DIR", run)
                .env("XDG_DATA_HOME", data)
                .stdin(Stdio::null());
            cmd
        };
        let out = command("dbus-daemon")
            .args(["--session", "--fork", "--print-address=1", "--print-pid=1"])
            .arg(format!("--address=unix:path={}", run.join("bus").display()))
            .output()
            .map_err(|e| format!("cannot run dbus-daemon (install the dbus package): {e}"))?;
        if !out.status.success() {
            return Err(format!("dbus-daemon failed: {}", String::from_utf8_lossy(&out.stderr)));
        }
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        let mut lines = text.lines();
        let (Some(address), Some(bus_pid)) = (lines.next(), lines.next()) else {
            return Err(format!("dbus-daemon said {text:?}"));
        };
        let keyring = PrivateKeyring { address: address.to_owned(), bus_pid: bus_pid.to_owned() };
        let mut daemon = command("gnome-keyring-daemon")
            .env("DBUS_SESSION_BUS_ADDRESS", &keyring.address)
            .args(["--unlock", "--components=secrets"])
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .spawn()
            .map_err(|e| format!("cannot run gnome-keyring-daemon (install gnome-keyring): {e}"))?;
        let mut stdin = daemon.stdin.take().expect("piped stdin");
        stdin.write_all(b"throwaway-password").map_err(|e| e.to_string())?;
        drop(stdin);
        // It forks the daemon and exits once the daemon serves the bus.
        match daemon.wait() {
            Ok(status) if status.success() => Ok(keyring),
            other => Err(format!("gnome-keyring-daemon failed to start: {other:?}")),
        }
    }

    /// The value for DBUS_SESSION_BUS_ADDRESS.
    pub fn bus_address(&self) -> &str {
        &self.address
    }
}

impl Drop for PrivateKeyring {
    fn drop(&mut self) {
        if let Ok(pid) = self.bus_pid.parse::<libc::pid_t>() {
            // SAFETY: kill has no memory effects; the pid is the bus daemon we started.
            unsafe { libc::kill(pid, libc::SIGTERM) };
        }
    }
}
