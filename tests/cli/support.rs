//! The test environment: a temporary home, a private D-Bus session with an unlocked
//! GNOME Keyring in it, and the Salesforce stand-in on loopback.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::sync::mpsc::{self, Receiver};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

pub use crate::run::Run;
use sfcred_stand_in::keyring::PrivateKeyring;
use sfcred_stand_in::{ConnectedApp, StandIn, key_and_certificate};
use tempfile::TempDir;

pub const CONSUMER_KEY: &str = "3MVG9TESTCONSUMERKEY0123456789";
pub const USERNAME: &str = "ops@acme.test";
/// Debian's SoftHSM2 module.
pub const SOFTHSM_MODULE: &str = "/usr/lib/softhsm/libsofthsm2.so";
/// The user PIN of test tokens: unusual, so that a search for it finds only leaks.
pub const TOKEN_PIN: &str = "80417236";

/// How long any one wait of a test may last: a regression fails the test instead of hanging it.
pub const TIMEOUT: Duration = Duration::from_secs(120);

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

    /// A new SoftHSM2 token labelled `label`, with user PIN [`TOKEN_PIN`]; returns the
    /// PKCS#11 URI of the token (no object, no PIN).
    pub fn softhsm_token(&self, label: &str) -> String {
        let tokens = self.path("softhsm");
        std::fs::create_dir_all(&tokens).unwrap();
        let config = format!(
            "directories.tokendir = {}\nobjectstore.backend = file\nlog.level = ERROR\n",
            tokens.display()
        );
        std::fs::write(self.path("softhsm2.conf"), config).unwrap();
        let init = ["--init-token", "--free", "--label", label, "--pin", TOKEN_PIN, "--so-pin", "5678"];
        let out = self
            .command("softhsm2-util")
            .args(init)
            .output_within(TIMEOUT)
            .expect("softhsm2-util runs (scripts/test installs softhsm2)");
        assert!(out.status.success(), "softhsm2-util: {}", String::from_utf8_lossy(&out.stderr));
        format!("pkcs11:token={label}?module-path={SOFTHSM_MODULE}")
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
            // SoftHSM2 keeps this environment's tokens in its home (see softhsm_token).
            .env("SOFTHSM2_CONF", self.path("softhsm2.conf"))
            .current_dir(self.home.path())
            .stdin(Stdio::null());
        cmd
    }

    /// sfcred, run in this environment.
    pub fn sfcred(&self) -> Command {
        self.command(sfcred_exe())
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
        Run::of(self.sfcred().args(args).output_within(TIMEOUT).unwrap())
    }

    /// Runs sfcred with `input` on its stdin, closed afterwards.
    pub fn run_with_stdin(&self, args: &[impl AsRef<std::ffi::OsStr>], input: &[u8]) -> Run {
        let child = crate::run::spawn_with_stdin(self.sfcred().args(args), input);
        Run::of(child.output_within(TIMEOUT).unwrap())
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

    /// The flags of `login_args`, with each `(flag, value)` of `overrides` replacing that
    /// flag's value, or appended when the standard login has no such flag.
    pub fn login_args_with(&self, profile: &str, overrides: &[(&str, &str)]) -> Vec<String> {
        let mut args = self.login_args(profile);
        for (flag, value) in overrides {
            match args.iter().position(|a| a == flag) {
                Some(at) => args[at + 1] = (*value).to_owned(),
                None => args.extend([(*flag).to_owned(), (*value).to_owned()]),
            }
        }
        args
    }

    pub fn login(&self, profile: &str) -> Run {
        self.run(&self.login_args(profile))
    }

    /// A login with `overrides` (see `login_args_with`).
    pub fn login_with(&self, profile: &str, overrides: &[(&str, &str)]) -> Run {
        self.run(&self.login_args_with(profile, overrides))
    }

    /// What the real Secret Service holds for `account`, read with libsecret's own tool.
    pub fn secret_service_lookup(&self, account: &str) -> Option<Vec<u8>> {
        let bus = self.bus.as_ref().expect("a keychain environment");
        let out = self
            .base_command("secret-tool")
            .env("DBUS_SESSION_BUS_ADDRESS", bus.bus_address())
            .args(["lookup", "service", "sfcred", "username", account])
            .output_within(TIMEOUT)
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

/// The sfcred under test: this build's, or the one `SFCRED_TEST_EXE` names, so that
/// `scripts/fails-before` can run today's tests against an older commit's build.
pub fn sfcred_exe() -> std::ffi::OsString {
    std::env::var_os("SFCRED_TEST_EXE").unwrap_or_else(|| env!("CARGO_BIN_EXE_sfcred").into())
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

impl TestEnv {
    /// sfcred on a pseudo-terminal (`script` gives it one), as a person uses it: each answer
    /// is typed once its prompt shows after the previous prompt. Returns the screen once `until` shows and sfcred has
    /// exited successfully.
    pub fn at_terminal(&self, args: &str, answers: &[(&str, &str)], until: &str) -> String {
        use std::io::Write;
        let command = format!("{} {args}", sfcred_exe().display());
        let mut child = self
            .command("script")
            .args(["-qec", &command, "/dev/null"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("script runs (util-linux)");
        let mut stdin = child.stdin.take().unwrap();
        let mut terminal = PipeReader::new(child.stdout.take().unwrap());
        for (prompt, answer) in answers {
            terminal.read_until(prompt, TIMEOUT);
            stdin.write_all(format!("{answer}\r").as_bytes()).unwrap();
        }
        let screen = terminal.read_until(until, TIMEOUT).to_owned();
        assert!(child.wait_within(TIMEOUT).unwrap().success(), "{screen}");
        screen
    }
}

/// `output()` and `wait()` with a bound: a process still running after `timeout` is killed
/// (SIGKILL) and the test panics with what it printed so far.
pub trait WaitWithin: Sized {
    /// Like `output()` (stdin null, stdout and stderr captured); `Err` only when the program
    /// cannot be started.
    fn output_within(self, timeout: Duration) -> std::io::Result<Output>;

    /// Like `wait()`; whatever pipes are left are read and dropped.
    fn wait_within(self, timeout: Duration) -> std::io::Result<ExitStatus> {
        self.output_within(timeout).map(|out| out.status)
    }
}

impl WaitWithin for &mut Command {
    fn output_within(self, timeout: Duration) -> std::io::Result<Output> {
        let what = format!("{:?} {:?}", self.get_program(), self.get_args().collect::<Vec<_>>());
        let child = self.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn()?;
        Ok(finish(child, timeout, &what))
    }
}

impl WaitWithin for Child {
    fn output_within(self, timeout: Duration) -> std::io::Result<Output> {
        let what = format!("process {}", self.id());
        Ok(finish(self, timeout, &what))
    }
}

/// Reads `pipe` on a thread of its own, giving each chunk to `chunk` until it returns false
/// or the pipe ends, and then calls `then`.
fn drain(
    mut pipe: impl Read + Send + 'static,
    mut chunk: impl FnMut(&[u8]) -> bool + Send + 'static,
    then: impl FnOnce() + Send + 'static,
) {
    std::thread::spawn(move || {
        let mut buf = [0u8; 8192];
        loop {
            match pipe.read(&mut buf) {
                Ok(0) => break,
                Ok(n) if chunk(&buf[..n]) => {}
                Ok(_) => break,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(_) => break,
            }
        }
        then();
    });
}

/// The bytes read from a pipe so far; `ended` hears when the pipe has ended.
fn capture(pipe: Option<impl Read + Send + 'static>, ended: &mpsc::Sender<()>) -> Arc<Mutex<Vec<u8>>> {
    let bytes = Arc::new(Mutex::new(Vec::new()));
    if let Some(pipe) = pipe {
        let (sink, ended) = (bytes.clone(), ended.clone());
        let chunk = move |chunk: &[u8]| {
            sink.lock().unwrap().extend_from_slice(chunk);
            true
        };
        drain(pipe, chunk, move || {
            let _ = ended.send(());
        });
    }
    bytes
}

/// Waits for `child` and for its pipes to end, until `timeout`. A thread waits for the exit
/// without reaping it (waitid with WNOWAIT), so the pid stays ours to kill until we reap it.
fn finish(mut child: Child, timeout: Duration, what: &str) -> Output {
    let deadline = Instant::now() + timeout;
    drop(child.stdin.take());
    let pipes = usize::from(child.stdout.is_some()) + usize::from(child.stderr.is_some());
    let (ended_tx, ended) = mpsc::channel();
    let stdout = capture(child.stdout.take(), &ended_tx);
    let stderr = capture(child.stderr.take(), &ended_tx);
    let pid = child.id();
    let (exited_tx, exited) = mpsc::channel();
    std::thread::spawn(move || {
        loop {
            // SAFETY: an all-zero siginfo_t is valid, and waitid writes only into it.
            let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
            let waited = unsafe {
                libc::waitid(libc::P_PID, pid as libc::id_t, &mut info, libc::WEXITED | libc::WNOWAIT)
            };
            if waited == 0 || std::io::Error::last_os_error().kind() != std::io::ErrorKind::Interrupted {
                break;
            }
        }
        let _ = exited_tx.send(());
    });
    let taken = |bytes: &Arc<Mutex<Vec<u8>>>| std::mem::take(&mut *bytes.lock().unwrap());
    let give_up = |why: String| -> ! {
        let (out, err) = (taken(&stdout), taken(&stderr));
        panic!(
            "{what} {why}\n--- stdout ---\n{}\n--- stderr ---\n{}",
            String::from_utf8_lossy(&out),
            String::from_utf8_lossy(&err)
        )
    };
    if exited.recv_timeout(timeout).is_err() {
        // SAFETY: kill has no memory effects; the pid is our child's, not reaped yet.
        unsafe { libc::kill(pid as libc::pid_t, libc::SIGKILL) };
        let _ = child.wait();
        give_up(format!("did not finish within {timeout:?} and was killed"));
    }
    let status = child.wait().expect("reaping an exited child");
    for _ in 0..pipes {
        if ended.recv_timeout(deadline.saturating_duration_since(Instant::now())).is_err() {
            give_up(format!("exited ({status}), but its output stayed open past {timeout:?}"));
        }
    }
    Output { status, stdout: taken(&stdout), stderr: taken(&stderr) }
}

/// A pipe read on a thread of its own, so that waiting for its text can give up.
pub struct PipeReader {
    chunks: Receiver<Vec<u8>>,
    text: String,
    /// Where the next search starts: just past the last needle found.
    searched_to: usize,
}

impl PipeReader {
    pub fn new(pipe: impl Read + Send + 'static) -> PipeReader {
        let (tx, chunks) = mpsc::channel();
        drain(pipe, move |chunk| tx.send(chunk.to_vec()).is_ok(), || {});
        PipeReader { chunks, text: String::new(), searched_to: 0 }
    }

    /// Reads until `needle` shows after the last needle found and returns all the text so far;
    /// panics when the pipe ends first or `timeout` passes.
    #[track_caller]
    pub fn read_until(&mut self, needle: &str, timeout: Duration) -> &str {
        match self.try_read_until(needle, timeout) {
            Ok(()) => &self.text,
            Err(e) => panic!("{e}"),
        }
    }

    /// [`PipeReader::read_until`], saying what went wrong instead of panicking.
    pub fn try_read_until(&mut self, needle: &str, timeout: Duration) -> Result<(), String> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(at) = self.text[self.searched_to..].find(needle) {
                self.searched_to += at + needle.len();
                return Ok(());
            }
            match self.chunks.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
                Ok(chunk) => self.text.push_str(&String::from_utf8_lossy(&chunk)),
                Err(mpsc::RecvTimeoutError::Disconnected) => {
                    return Err(format!("the pipe closed before {needle:?}: {}", self.text));
                }
                Err(mpsc::RecvTimeoutError::Timeout) => {
                    return Err(format!("no {needle:?} within {timeout:?}: {}", self.text));
                }
            }
        }
    }

    /// Reads until the pipe ends and returns all its text; panics when `timeout` passes first.
    #[track_caller]
    pub fn rest(mut self, timeout: Duration) -> String {
        let deadline = Instant::now() + timeout;
        loop {
            match self.chunks.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
                Ok(chunk) => self.text.push_str(&String::from_utf8_lossy(&chunk)),
                Err(mpsc::RecvTimeoutError::Disconnected) => return self.text,
                Err(mpsc::RecvTimeoutError::Timeout) => {
                    panic!("the pipe stayed open past {timeout:?}: {}", self.text)
                }
            }
        }
    }
}

/// A server that reads a request and resets the connection (TCP RST) without answering.
pub fn resetting_server() -> String {
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

/// Makes a FIFO at `path`.
pub fn mkfifo(path: &Path) {
    let c_path = std::ffi::CString::new(path.to_str().unwrap()).unwrap();
    // SAFETY: a valid NUL-terminated path.
    assert_eq!(unsafe { libc::mkfifo(c_path.as_ptr(), 0o600) }, 0, "mkfifo {}", path.display());
}
