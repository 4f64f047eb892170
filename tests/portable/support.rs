//! Runs sfcred natively or, on Linux, the Windows build under wine; in both cases in an
//! environment of the test's own, with the platform's keychain.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

pub use crate::run::Run;
use sfcred_stand_in::{ConnectedApp, StandIn, key_and_certificate};
use tempfile::TempDir;

pub const CONSUMER_KEY: &str = "3MVG9PORTABLECONSUMERKEY012345";
pub const USERNAME: &str = "ops@acme.test";
/// How long any one wait of a test may last: a regression fails the test instead of hanging it.
pub const TIMEOUT: Duration = Duration::from_secs(180);

/// What runs sfcred.
enum Target {
    Native,
    /// The Windows build under wine, in a prefix prepared by scripts/test.
    Wine {
        exe: PathBuf,
        prefix: PathBuf,
    },
}

impl Target {
    fn from_env() -> Target {
        match (std::env::var_os("SFCRED_TEST_WINE_EXE"), std::env::var_os("WINEPREFIX")) {
            (Some(exe), Some(prefix)) => Target::Wine { exe: exe.into(), prefix: prefix.into() },
            (Some(_), None) => panic!("SFCRED_TEST_WINE_EXE is set without WINEPREFIX (see scripts/test)"),
            _ => Target::Native,
        }
    }
}

/// The keychain store the tests use natively on this platform.
const NATIVE_STORE: &str = if cfg!(target_os = "linux") {
    "keyutils"
} else if cfg!(target_os = "macos") {
    "macos-keychain"
} else {
    "windows-credential-manager"
};

pub struct TestEnv {
    pub home: TempDir,
    pub stand_in: StandIn,
    target: Target,
    /// Every profile name this test uses starts with this: under wine, the prefix's
    /// settings, cache and Credential Manager are shared by the tests running at once.
    prefix: String,
}

impl TestEnv {
    /// `test` names the test, and so its profiles.
    pub fn new(test: &str) -> TestEnv {
        let home = tempfile::Builder::new().prefix("sfcred-portable-").tempdir().unwrap();
        let stand_in = StandIn::start(0, Vec::new()).unwrap();
        let nonce = home.path().file_name().unwrap().to_string_lossy().rsplit('-').next().unwrap().to_owned();
        TestEnv { home, stand_in, target: Target::from_env(), prefix: format!("{test}-{nonce}") }
    }

    /// The keychain store sfcred uses here.
    pub fn store(&self) -> &'static str {
        match self.target {
            Target::Native => NATIVE_STORE,
            Target::Wine { .. } => "windows-credential-manager",
        }
    }

    pub fn is_wine(&self) -> bool {
        matches!(self.target, Target::Wine { .. })
    }

    /// Whether sfcred runs as a Windows program (natively or under wine).
    pub fn is_windows(&self) -> bool {
        self.is_wine() || cfg!(windows)
    }

    /// This test's profile called `name`.
    pub fn profile(&self, name: &str) -> String {
        format!("{}-{name}", self.prefix).to_ascii_lowercase()
    }

    pub fn path(&self, relative: &str) -> PathBuf {
        self.home.path().join(relative)
    }

    /// `path` as sfcred sees it: under wine, through drive Z: (the Linux root).
    pub fn arg_path(&self, path: &Path) -> String {
        match self.target {
            Target::Native => path.to_str().unwrap().to_owned(),
            Target::Wine { .. } => format!("Z:{}", path.to_str().unwrap().replace('/', "\\")),
        }
    }

    /// The directory sfcred keeps its settings in, seen from here.
    pub fn settings_dir(&self) -> PathBuf {
        match &self.target {
            Target::Wine { prefix, .. } => wine_user_dir(prefix).join("AppData/Roaming/sfcred"),
            Target::Native if cfg!(windows) => self.path("AppData/Roaming/sfcred"),
            Target::Native => self.path(".config/sfcred"),
        }
    }

    /// The directory sfcred keeps its token cache in, seen from here.
    pub fn cache_dir(&self) -> PathBuf {
        match &self.target {
            Target::Wine { prefix, .. } => wine_user_dir(prefix).join("AppData/Local/sfcred"),
            Target::Native if cfg!(windows) => self.path("AppData/Local/sfcred"),
            Target::Native => self.path(".cache/sfcred"),
        }
    }

    /// sfcred with this environment: no HOME and no XDG_* for a Windows program, which must
    /// find its directories as Windows gives them.
    pub fn sfcred(&self) -> Command {
        let mut cmd = match &self.target {
            Target::Native => {
                let mut cmd = Command::new(env!("CARGO_BIN_EXE_sfcred"));
                if cfg!(windows) {
                    // Windows programs need their system variables; the user's own are replaced.
                    cmd.env_remove("HOME")
                        .env("APPDATA", self.path("AppData/Roaming"))
                        .env("LOCALAPPDATA", self.path("AppData/Local"))
                        .env("USERPROFILE", self.home.path());
                } else {
                    cmd.env_clear()
                        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
                        .env("HOME", self.home.path());
                }
                cmd
            }
            Target::Wine { exe, prefix } => {
                let mut cmd = Command::new(wine());
                cmd.arg(exe).env_clear().envs(wine_env(prefix));
                cmd
            }
        };
        for var in
            ["XDG_CONFIG_HOME", "XDG_CACHE_HOME", "XDG_RUNTIME_DIR", "SFCRED_CONFIG_DIR", "SFCRED_CACHE_DIR"]
        {
            cmd.env_remove(var);
        }
        cmd.env("SFCRED_STORE", self.store()).current_dir(self.home.path()).stdin(Stdio::null());
        cmd
    }

    pub fn run(&self, args: &[&str]) -> Run {
        Run::of(output_within(self.sfcred().args(args), TIMEOUT))
    }

    /// Runs sfcred with `input` on its stdin.
    pub fn run_with_stdin(&self, args: &[&str], input: &[u8]) -> Run {
        Run::of(finish(crate::run::spawn_with_stdin(self.sfcred().args(args), input), TIMEOUT))
    }

    /// A key pair made with sfcred keygen for `profile`, registered with the stand-in's
    /// connected app (as an admin uploads the certificate).
    pub fn keygen(&self, profile: &str) -> Run {
        let cert = self.path(&format!("{profile}.crt"));
        let run = self.run(&["keygen", "--profile", profile, "--cert-out", &self.arg_path(&cert)]);
        if run.code == 0 {
            self.upload_certificate(&cert);
        }
        run
    }

    /// Gives the stand-in's connected app the certificate keygen wrote.
    pub fn upload_certificate(&self, cert: &Path) {
        let app = ConnectedApp {
            consumer_key: CONSUMER_KEY.into(),
            certificate_pem: std::fs::read_to_string(cert).unwrap(),
            approved_users: vec![USERNAME.into()],
        };
        self.stand_in.add_app(app).unwrap();
    }

    /// The flags of a login with the key keygen stored.
    pub fn login_args(&self, profile: &str) -> Vec<String> {
        ["login", "--profile", profile, "--username", USERNAME, "--client-id", CONSUMER_KEY]
            .into_iter()
            .chain(["--login-url", self.stand_in.url(), "--no-input"])
            .map(String::from)
            .collect()
    }

    pub fn login(&self, profile: &str) -> Run {
        let args = self.login_args(profile);
        self.run(&args.iter().map(String::as_str).collect::<Vec<_>>())
    }

    /// Whether the keychain holds the entry `profile/account` of sfcred's.
    pub fn stored(&self, profile: &str, account: &str) -> bool {
        let user = format!("{profile}/{account}");
        match &self.target {
            Target::Wine { prefix, .. } => {
                wine_credentials(prefix).iter().any(|target| target.contains(&user))
            }
            Target::Native => native_entry_exists(&user),
        }
    }

    /// Every file in sfcred's directories whose name starts with the profile's.
    pub fn files_of(&self, profile: &str) -> Vec<PathBuf> {
        let mut found = Vec::new();
        let mut dirs = vec![self.settings_dir(), self.cache_dir()];
        while let Some(dir) = dirs.pop() {
            let Ok(entries) = std::fs::read_dir(&dir) else { continue };
            for entry in entries.flatten() {
                let path = entry.path();
                if path.is_dir() {
                    dirs.push(path);
                } else if entry.file_name().to_string_lossy().starts_with(profile) {
                    found.push(path);
                }
            }
        }
        found
    }

    /// The settings file's text, or nothing.
    pub fn settings(&self) -> String {
        std::fs::read_to_string(self.settings_dir().join("config.toml")).unwrap_or_default()
    }
}

impl TestEnv {
    /// A key pair made outside sfcred (as with openssl), its certificate uploaded to a
    /// connected app of its own, `consumer_key`; the key's PEM file.
    pub fn app_key_file(&self, consumer_key: &str) -> PathBuf {
        let (key, certificate_pem) = key_and_certificate(consumer_key);
        let app = ConnectedApp {
            consumer_key: consumer_key.into(),
            certificate_pem,
            approved_users: vec![USERNAME.into()],
        };
        self.stand_in.add_app(app).unwrap();
        let path = self.path(&format!("{consumer_key}.key"));
        std::fs::write(&path, key).unwrap();
        path
    }
}

#[cfg(target_os = "linux")]
fn native_entry_exists(user: &str) -> bool {
    let store = linux_keyutils_keyring_store::Store::new()
        .expect("a session keyring (scripts/test runs the tests in one)");
    let store: std::sync::Arc<keyring_core::CredentialStore> = store;
    keyring_core::Entry::new_in_store(&store, "sfcred", user).unwrap().get_secret().is_ok()
}

#[cfg(target_os = "macos")]
fn native_entry_exists(user: &str) -> bool {
    let store: std::sync::Arc<keyring_core::CredentialStore> =
        apple_native_keyring_store::keychain::Store::new().unwrap();
    keyring_core::Entry::new_in_store(&store, "sfcred", user).unwrap().get_secret().is_ok()
}

#[cfg(windows)]
fn native_entry_exists(user: &str) -> bool {
    let store: std::sync::Arc<keyring_core::CredentialStore> =
        windows_native_keyring_store::Store::new().unwrap();
    keyring_core::Entry::new_in_store(&store, "sfcred", user).unwrap().get_secret().is_ok()
}

/// Debian's wine64 package has no `wine` on PATH (that comes with the 32-bit half).
fn wine() -> OsString {
    std::env::var_os("SFCRED_TEST_WINE").unwrap_or_else(|| "/usr/lib/wine/wine64".into())
}

/// The environment of a program under wine: the prefix, and nothing of the user's. Wine
/// gives the Windows program no HOME of its own; XDG_* would pass through, so none is set.
fn wine_env(prefix: &Path) -> Vec<(OsString, OsString)> {
    vec![
        ("PATH".into(), std::env::var_os("PATH").unwrap_or_default()),
        ("WINEPREFIX".into(), prefix.into()),
        ("WINEDEBUG".into(), "-all".into()),
        ("LANG".into(), "C.UTF-8".into()),
        // Without this, every wine session makes menu folders in the Linux home.
        ("WINEDLLOVERRIDES".into(), "winemenubuilder.exe=d".into()),
    ]
}

/// The Windows user's profile directory in a wine prefix.
fn wine_user_dir(prefix: &Path) -> PathBuf {
    let users = prefix.join("drive_c/users");
    std::fs::read_dir(&users)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .find(|p| p.file_name().is_some_and(|n| n != "Public"))
        .unwrap_or_else(|| panic!("no user in {}", users.display()))
}

/// The targets of the generic credentials in the prefix's Credential Manager (wine keeps
/// them in the registry, under HKCU\Software\Wine\Credential Manager).
fn wine_credentials(prefix: &Path) -> Vec<String> {
    let mut cmd = Command::new(wine());
    cmd.args(["reg", "query", r"HKCU\Software\Wine\Credential Manager"]).env_clear().envs(wine_env(prefix));
    let out = output_within(&mut cmd, TIMEOUT);
    String::from_utf8_lossy(&out.stdout).lines().map(str::to_owned).collect()
}

/// Like `output()`, but a process still running after `timeout` is killed and the test fails.
pub fn output_within(cmd: &mut Command, timeout: Duration) -> Output {
    let child = cmd.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    finish(child, timeout)
}

/// Waits for `child`, reading its pipes on threads of their own; kills it after `timeout`.
pub fn finish(mut child: Child, timeout: Duration) -> Output {
    use std::io::Read;
    let (sender, pipes) = std::sync::mpsc::channel();
    let read = |pipe: Option<Box<dyn Read + Send>>, which: usize| {
        let sender = sender.clone();
        std::thread::spawn(move || {
            let mut bytes = Vec::new();
            if let Some(mut pipe) = pipe {
                let _ = pipe.read_to_end(&mut bytes);
            }
            let _ = sender.send((which, bytes));
        });
    };
    read(child.stdout.take().map(|p| Box::new(p) as Box<dyn Read + Send>), 0);
    read(child.stderr.take().map(|p| Box::new(p) as Box<dyn Read + Send>), 1);
    let deadline = Instant::now() + timeout;
    // Polled, as std offers no wait with a timeout; the bound is for hung children only.
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("sfcred did not finish within {timeout:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let mut output = [Vec::new(), Vec::new()];
    for _ in 0..2 {
        let left = deadline.saturating_duration_since(Instant::now());
        let (which, bytes) = pipes.recv_timeout(left).unwrap_or_else(|_| {
            panic!("sfcred exited ({status}), but a process it left holds its output open")
        });
        output[which] = bytes;
    }
    let [stdout, stderr] = output;
    Output { status, stdout, stderr }
}
