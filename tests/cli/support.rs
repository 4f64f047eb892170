//! The test environment: a temporary home, a private D-Bus session with an unlocked
//! GNOME Keyring in it, and the Salesforce stand-in on loopback.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;

use sfcred_stand_in::keyring::PrivateKeyring;
use sfcred_stand_in::{ConnectedApp, StandIn, key_and_certificate};
use tempfile::TempDir;

pub const CONSUMER_KEY: &str = "3MVG9TESTCONSUMERKEY0123456789";
pub const USERNAME: &str = "ops@acme.test";

/// The connected app's key pair, made once per test run.
pub fn app_keys() -> &'static (String, String) {
    static KEYS: OnceLock<(String, String)> = OnceLock::new();
    KEYS.get_or_init(|| key_and_certificate("sfcred tests"))
}

/// Another RSA key, which the connected app does not know.
pub fn stranger_key() -> &'static str {
    static KEY: OnceLock<String> = OnceLock::new();
    KEY.get_or_init(|| key_and_certificate("stranger").0)
}

pub struct TestEnv {
    pub home: TempDir,
    pub stand_in: StandIn,
    bus: Option<PrivateKeyring>,
}

impl TestEnv {
    /// An environment with a Secret Service keychain.
    pub fn new() -> TestEnv {
        let mut env = TestEnv::without_keychain();
        let keyring = PrivateKeyring::start(env.home.path(), &env.path("run"), &env.path("data"));
        env.bus = Some(keyring.unwrap_or_else(|e| panic!("a Secret Service for the test: {e}")));
        env
    }

    /// An environment with no D-Bus session at all.
    pub fn without_keychain() -> TestEnv {
        let home = tempfile::Builder::new().prefix("sfcred-test-").tempdir().unwrap();
        for dir in ["config", "data", "cache", "run"] {
            std::fs::create_dir(home.path().join(dir)).unwrap();
        }
        set_mode(&home.path().join("run"), 0o700);
        let (_, cert) = app_keys();
        let app = ConnectedApp {
            consumer_key: CONSUMER_KEY.into(),
            certificate_pem: cert.clone(),
            approved_users: vec![USERNAME.into()],
        };
        let stand_in = StandIn::start(0, vec![app]).unwrap();
        TestEnv { home, stand_in, bus: None }
    }

    pub fn path(&self, relative: &str) -> PathBuf {
        self.home.path().join(relative)
    }

    /// A command with this environment's home and nothing of the caller's.
    fn base_command(&self, program: impl AsRef<std::ffi::OsStr>) -> Command {
        let mut cmd = Command::new(program);
        cmd.env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", self.home.path())
            .env("XDG_CONFIG_HOME", self.path("config"))
            .env("XDG_DATA_HOME", self.path("data"))
            .env("XDG_CACHE_HOME", self.path("cache"))
            .env("XDG_RUNTIME_DIR", self.path("run"))
            .current_dir(self.home.path())
            .stdin(Stdio::null());
        cmd
    }

    /// sfcred, run in this environment.
    pub fn sfcred(&self) -> Command {
        self.command(env!("CARGO_BIN_EXE_sfcred"))
    }

    /// Any program, run in this environment (its home, its keychain).
    pub fn command(&self, program: impl AsRef<std::ffi::OsStr>) -> Command {
        let mut cmd = self.base_command(program);
        match &self.bus {
            Some(bus) => cmd.env("DBUS_SESSION_BUS_ADDRESS", bus.bus_address()),
            None => cmd
                .env("DBUS_SESSION_BUS_ADDRESS", format!("unix:path={}", self.path("run/no-bus").display())),
        };
        cmd
    }

    pub fn run(&self, args: &[impl AsRef<std::ffi::OsStr>]) -> Run {
        Run::of(self.sfcred().args(args).output().unwrap())
    }

    /// Runs sfcred with `input` on its stdin, closed afterwards.
    pub fn run_with_stdin(&self, args: &[impl AsRef<std::ffi::OsStr>], input: &[u8]) -> Run {
        use std::io::Write;
        let mut child = self
            .sfcred()
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        // A child that stops reading early closes the pipe; that is its answer, not ours.
        let _ = child.stdin.take().unwrap().write_all(input);
        Run::of(child.wait_with_output().unwrap())
    }

    /// Writes a file into the home directory and returns its path as text.
    pub fn write(&self, name: &str, text: &str) -> String {
        let path = self.path(name);
        std::fs::write(&path, text).unwrap();
        path.to_str().unwrap().to_owned()
    }

    pub fn key_file(&self) -> String {
        self.write("salesforce.key", &app_keys().0)
    }

    /// The flags of a login that succeeds against the stand-in.
    pub fn login_args(&self, profile: &str) -> Vec<String> {
        [
            "login",
            "--profile",
            profile,
            "--username",
            USERNAME,
            "--client-id",
            CONSUMER_KEY,
            "--key-file",
            &self.key_file(),
            "--login-url",
            self.stand_in.url(),
        ]
        .map(String::from)
        .to_vec()
    }

    pub fn login(&self, profile: &str) -> Run {
        self.run(&self.login_args(profile))
    }

    /// What the real Secret Service holds for `account`, read with libsecret's own tool.
    pub fn secret_service_lookup(&self, account: &str) -> Option<Vec<u8>> {
        let bus = self.bus.as_ref().expect("a keychain environment");
        let out = self
            .base_command("secret-tool")
            .env("DBUS_SESSION_BUS_ADDRESS", bus.bus_address())
            .args(["lookup", "service", "sfcred", "username", account])
            .output()
            .expect("secret-tool runs (install libsecret-tools: scripts/test does)");
        out.status.success().then_some(out.stdout)
    }

    /// Every file under the home directory whose bytes contain `needle`.
    pub fn files_containing(&self, needle: &[u8]) -> Vec<PathBuf> {
        let mut found = Vec::new();
        let mut dirs = vec![self.home.path().to_path_buf()];
        while let Some(dir) = dirs.pop() {
            for entry in std::fs::read_dir(&dir).unwrap().flatten() {
                let path = entry.path();
                let kind = entry.file_type().unwrap();
                if kind.is_dir() {
                    dirs.push(path);
                } else if kind.is_file()
                    && let Ok(bytes) = std::fs::read(&path)
                    && bytes.windows(needle.len()).any(|w| w == needle)
                {
                    found.push(path);
                }
            }
        }
        found
    }
}

fn set_mode(path: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

/// A finished sfcred run.
#[derive(Debug)]
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    pub fn of(out: Output) -> Run {
        Run {
            code: out.status.code().expect("exited, not killed"),
            stdout: String::from_utf8(out.stdout).unwrap(),
            stderr: String::from_utf8(out.stderr).unwrap(),
        }
    }

    #[track_caller]
    pub fn success(self) -> Run {
        assert_eq!(self.code, 0, "expected success:\n{self:#?}");
        self
    }

    #[track_caller]
    pub fn failure(self, code: i32) -> Run {
        assert_eq!(self.code, code, "expected exit code {code}:\n{self:#?}");
        assert!(self.stdout.is_empty(), "a failure printed on stdout:\n{self:#?}");
        assert!(self.stderr.contains("hint: "), "an error without a hint:\n{self:#?}");
        self
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.stdout).unwrap_or_else(|e| panic!("not JSON ({e}): {:?}", self.stdout))
    }
}

impl TestEnv {
    /// The profile's token cache file (the default location, under XDG_RUNTIME_DIR).
    pub fn cache_file(&self, profile: &str) -> PathBuf {
        self.path(&format!("run/sfcred/{profile}.token"))
    }

    /// The cached entry as JSON, for tests that age or damage it.
    pub fn cache_entry(&self, profile: &str) -> serde_json::Value {
        serde_json::from_slice(&std::fs::read(self.cache_file(profile)).unwrap()).unwrap()
    }

    /// Rewrites the cached entry in place, keeping its permissions.
    pub fn set_cache_entry(&self, profile: &str, entry: &serde_json::Value) {
        std::fs::write(self.cache_file(profile), entry.to_string()).unwrap();
    }
}

/// A server that reads a request and resets the connection (TCP RST) without answering.
pub fn resetting_server() -> String {
    use std::io::Read;
    use std::os::fd::AsRawFd;
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        for mut stream in listener.incoming().flatten() {
            let _ = stream.read(&mut [0u8; 4096]);
            let linger = libc::linger { l_onoff: 1, l_linger: 0 };
            // SAFETY: a valid socket, and a linger struct of the size passed.
            unsafe {
                libc::setsockopt(
                    stream.as_raw_fd(),
                    libc::SOL_SOCKET,
                    libc::SO_LINGER,
                    (&raw const linger).cast(),
                    std::mem::size_of::<libc::linger>() as libc::socklen_t,
                );
            }
        }
    });
    url
}

impl TestEnv {
    /// Rewrites the settings file with `edit` (tests that break a setting on purpose).
    pub fn edit_settings(&self, edit: impl FnOnce(String) -> String) {
        let path = self.path("config/sfcred/config.toml");
        let text = std::fs::read_to_string(&path).unwrap();
        std::fs::write(&path, edit(text)).unwrap();
    }
}
