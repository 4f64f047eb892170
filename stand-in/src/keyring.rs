//! A throwaway Secret Service: a private dbus-daemon with gnome-keyring-daemon on it,
//! unlocked with a throwaway password, its files in a directory of the caller's.
//! Nobody's own keyring is touched. gnome-keyring-daemon leaves when its bus goes away.

use std::io::Write;
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::Duration;

/// How long either daemon may take to start before the start fails instead of hanging.
const START_TIMEOUT: Duration = Duration::from_secs(120);

pub struct PrivateKeyring {
    address: String,
    bus_pid: String,
    /// gnome-keyring-daemon forks away from us; it usually leaves with its bus, but not
    /// always, so it is ended by pid too.
    daemon_pids: Vec<libc::pid_t>,
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
        let bus = command("dbus-daemon")
            .args(["--session", "--fork", "--print-address=1", "--print-pid=1"])
            .arg(format!("--address=unix:path={}", run.join("bus").display()))
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| format!("cannot run dbus-daemon (install the dbus package): {e}"))?;
        let out = output_within(bus, START_TIMEOUT).map_err(|e| format!("dbus-daemon: {e}"))?;
        if !out.status.success() {
            return Err(format!("dbus-daemon failed: {}", String::from_utf8_lossy(&out.stderr)));
        }
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        let mut lines = text.lines();
        let (Some(address), Some(bus_pid)) = (lines.next(), lines.next()) else {
            return Err(format!("dbus-daemon said {text:?}"));
        };
        let mut keyring = PrivateKeyring {
            address: address.to_owned(),
            bus_pid: bus_pid.to_owned(),
            daemon_pids: Vec::new(),
        };
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
        match output_within(daemon, START_TIMEOUT).map(|out| out.status) {
            Ok(status) if status.success() => {
                keyring.daemon_pids = daemons_on(&keyring.address);
                Ok(keyring)
            }
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
        let bus = self.bus_pid.parse::<libc::pid_t>().ok();
        for pid in self.daemon_pids.iter().copied().chain(bus) {
            // SAFETY: kill has no memory effects; the pids are daemons we started.
            unsafe { libc::kill(pid, libc::SIGTERM) };
        }
    }
}

/// `child.wait_with_output()`, on a thread so that it can give up: after `timeout` the child
/// is killed and the wait is an error.
fn output_within(child: Child, timeout: Duration) -> Result<Output, String> {
    let pid = child.id();
    let (done, result) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = done.send(child.wait_with_output());
    });
    match result.recv_timeout(timeout) {
        Ok(output) => output.map_err(|e| e.to_string()),
        Err(_) => {
            // SAFETY: kill has no memory effects; the pid is a child of ours whose waiting
            // thread has not answered, so it is still running (bar a reap in this instant).
            unsafe { libc::kill(pid as libc::pid_t, libc::SIGKILL) };
            Err(format!("did not finish within {timeout:?}"))
        }
    }
}

/// The gnome-keyring-daemon processes serving the bus at `address`.
fn daemons_on(address: &str) -> Vec<libc::pid_t> {
    let wanted = format!("DBUS_SESSION_BUS_ADDRESS={address}");
    let Ok(entries) = std::fs::read_dir("/proc") else { return Vec::new() };
    entries
        .flatten()
        .filter_map(|entry| entry.file_name().to_str()?.parse::<libc::pid_t>().ok())
        .filter(|pid| {
            let comm = std::fs::read_to_string(format!("/proc/{pid}/comm")).unwrap_or_default();
            let environ = std::fs::read(format!("/proc/{pid}/environ")).unwrap_or_default();
            comm.starts_with("gnome-keyring") && environ.split(|&b| b == 0).any(|v| v == wanted.as_bytes())
        })
        .collect()
}
