//! Keys on a TPM through tpm2-pkcs11, against a software TPM (swtpm) reached through the
//! resource manager (tpm2-abrmd) on the test's private D-Bus: the same PKCS#11 path as any
//! token, and the TPM's own failures (a dictionary-attack lockout, a TPM that cannot be
//! reached) named with their fixes.

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::pkcs11::login_args;
use crate::support::{CONSUMER_KEY, Run, TIMEOUT, TOKEN_PIN, TestEnv, WaitWithin};

/// Debian's tpm2-pkcs11 module (package libtpm2-pkcs11-1).
const TPM_MODULE: &str = "/usr/lib/x86_64-linux-gnu/libtpm2_pkcs11.so.1";
const SO_PIN: &str = "66120945";
/// tpm2-abrmd's name on the bus, owned once it serves.
const ABRMD_NAME: &str = "com.intel.tss2.Tabrmd";

/// A software TPM with one tpm2-pkcs11 token, `sfcred`, whose user PIN is [`TOKEN_PIN`].
struct SoftwareTpm<'a> {
    env: &'a TestEnv,
    port: u16,
    swtpm_pid: libc::pid_t,
    abrmd: Option<Child>,
}

impl<'a> SoftwareTpm<'a> {
    fn start(env: &'a TestEnv) -> SoftwareTpm<'a> {
        std::fs::create_dir_all(env.path("tpm/state")).unwrap();
        std::fs::create_dir_all(env.path("tpm/store")).unwrap();
        let port = two_free_ports();
        let pid_file = env.path("tpm/swtpm.pid");
        let out = env
            .command("swtpm")
            .args(["socket", "--tpm2", "--daemon", "--flags", "not-need-init,startup-clear"])
            .arg(format!("--tpmstate=dir={}", env.path("tpm/state").display()))
            // The control channel is on the server's port + 1, where swtpm_ioctl expects it.
            .arg(format!("--server=type=tcp,port={port},bindaddr=127.0.0.1"))
            .arg(format!("--ctrl=type=tcp,port={},bindaddr=127.0.0.1", port + 1))
            .arg(format!("--pid=file={}", pid_file.display()))
            .output_within(TIMEOUT)
            .expect("swtpm runs (scripts/test installs swtpm)");
        assert!(out.status.success(), "swtpm: {}", String::from_utf8_lossy(&out.stderr));
        let swtpm_pid = std::fs::read_to_string(&pid_file).unwrap().trim().parse().unwrap();
        let mut tpm = SoftwareTpm { env, port, swtpm_pid, abrmd: None };
        tpm.start_resource_manager();
        tpm.ptool(&["init"]);
        tpm.ptool(&[
            "addtoken",
            "--pid=1",
            "--label=sfcred",
            &format!("--sopin={SO_PIN}"),
            &format!("--userpin={TOKEN_PIN}"),
        ]);
        tpm
    }

    /// tpm2-abrmd on the test's bus: swtpm holds three loaded objects, tpm2_ptool needs more.
    fn start_resource_manager(&mut self) {
        let mut abrmd = self.env.command("tpm2-abrmd");
        abrmd.args(["--session", "--flush-all", &format!("--tcti=swtpm:host=127.0.0.1,port={}", self.port)]);
        // SAFETY: geteuid has no preconditions.
        if unsafe { libc::geteuid() } == 0 {
            abrmd.arg("--allow-root");
        }
        let child = abrmd
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("tpm2-abrmd runs (scripts/test installs tpm2-abrmd)");
        self.abrmd = Some(child);
        let deadline = Instant::now() + TIMEOUT;
        while !self.abrmd_serves() {
            assert!(Instant::now() < deadline, "tpm2-abrmd did not take {ABRMD_NAME} on the bus");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn abrmd_serves(&self) -> bool {
        let out = self
            .env
            .command("dbus-send")
            .args(["--session", "--print-reply", "--dest=org.freedesktop.DBus", "/org/freedesktop/DBus"])
            .args(["org.freedesktop.DBus.NameHasOwner", &format!("string:{ABRMD_NAME}")])
            .output_within(TIMEOUT)
            .unwrap();
        String::from_utf8_lossy(&out.stdout).contains("boolean true")
    }

    fn stop_resource_manager(&mut self) {
        if let Some(mut abrmd) = self.abrmd.take() {
            let _ = abrmd.kill();
            let _ = abrmd.wait();
        }
    }

    /// A program that talks to the TPM (tpm2-tools, tpm2-pkcs11), through the resource manager.
    fn command(&self, program: &str) -> Command {
        let mut cmd = self.env.command(program);
        cmd.env("TPM2TOOLS_TCTI", "tabrmd:bus_type=session")
            .env("TPM2_PKCS11_TCTI", "tabrmd:bus_type=session")
            .env("TPM2_PKCS11_STORE", self.store())
            .env("TSS2_LOG", "all+none");
        cmd
    }

    fn store(&self) -> PathBuf {
        self.env.path("tpm/store")
    }

    fn ptool(&self, args: &[&str]) {
        let out = self
            .command("tpm2_ptool")
            .args(args)
            .output_within(TIMEOUT)
            .expect("tpm2_ptool runs (scripts/test installs libtpm2-pkcs11-tools)");
        assert!(out.status.success(), "tpm2_ptool {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    }

    /// sfcred with the TPM's environment and `pin` as the token's PIN.
    fn sfcred(&self, args: &[&str], pin: &str) -> Run {
        let mut cmd = self.command(&crate::support::sfcred_exe().to_string_lossy());
        Run::of(cmd.args(args).env("SFCRED_PKCS11_PIN", pin).output_within(TIMEOUT).unwrap())
    }

    /// The token's private keys, as pkcs11-tool (OpenSC) lists them.
    fn private_keys(&self) -> String {
        let out = self
            .command("pkcs11-tool")
            .args(["--module", TPM_MODULE, "--token-label", "sfcred", "--login", "--pin", TOKEN_PIN])
            .args(["--list-objects", "--type", "privkey"])
            .output_within(TIMEOUT)
            .expect("pkcs11-tool runs (scripts/test installs opensc)");
        assert!(out.status.success(), "pkcs11-tool: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8_lossy(&out.stdout).into_owned()
    }
}

impl Drop for SoftwareTpm<'_> {
    /// A clean shutdown: swtpm counts an unclean stop like a wrong PIN.
    fn drop(&mut self) {
        self.stop_resource_manager();
        let _ = self
            .env
            .command("tpm2_shutdown")
            .args(["-c"])
            .env("TPM2TOOLS_TCTI", format!("swtpm:host=127.0.0.1,port={}", self.port))
            .env("TSS2_LOG", "all+none")
            .output_within(TIMEOUT);
        let stopped = self
            .env
            .command("swtpm_ioctl")
            .args(["--tcp", &format!("127.0.0.1:{}", self.port + 1), "-s"])
            .output_within(TIMEOUT);
        if !stopped.is_ok_and(|out| out.status.success()) {
            // SAFETY: kill has no memory effects; the pid is the swtpm this test started.
            unsafe { libc::kill(self.swtpm_pid, libc::SIGTERM) };
        }
    }
}

/// A port whose successor is free too (swtpm's server and control ports).
fn two_free_ports() -> u16 {
    loop {
        let first = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = first.local_addr().unwrap().port();
        if port < u16::MAX && TcpListener::bind(("127.0.0.1", port + 1)).is_ok() {
            return port;
        }
    }
}

fn token_uri(object: &str) -> String {
    format!("pkcs11:token=sfcred;object={object}?module-path={TPM_MODULE}")
}

#[test]
fn a_key_made_on_a_tpm_mints_and_never_leaves_it() {
    let env = TestEnv::new();
    let tpm = SoftwareTpm::start(&env);
    let uri = token_uri("prod");
    let keygen = tpm.sfcred(&["keygen", "-p", "prod", "--pkcs11", &uri], TOKEN_PIN).success();
    assert!(keygen.stderr.contains("cannot be copied off the token"), "{keygen:?}");

    let keys = tpm.private_keys();
    assert!(keys.contains("label:      prod"), "{keys}");
    assert!(keys.contains("sensitive") && keys.contains("never extractable"), "{keys}");

    let certificate = std::fs::read_to_string(env.path("prod.crt")).unwrap();
    env.stand_in.upload_certificate(CONSUMER_KEY, &certificate).unwrap();
    let login = login_args(&env, "prod", &uri);
    tpm.sfcred(&login, TOKEN_PIN).success();
    // The PIN is in the keychain from here on: an empty SFCRED_PKCS11_PIN is no PIN at all.
    let token = tpm.sfcred(&["token", "-p", "prod", "--refresh", "--format", "token"], "").success();
    assert!(token.stdout.starts_with("00DSTANDIN"), "{token:?}");
    assert_eq!(env.stand_in.token_requests(), 2, "login's check and the refresh");

    let doctor = tpm.sfcred(&["doctor", "-p", "prod", "--json"], "").success().json();
    for name in ["PKCS#11 module", "token", "PIN", "private key", "key protection", "key matches certificate"]
    {
        let check = doctor.as_array().unwrap().iter().find(|c| c["name"] == name);
        assert_eq!(check.map(|c| &c["status"]), Some(&"ok".into()), "{name}: {doctor}");
    }
    assert!(env.files_containing(TOKEN_PIN.as_bytes()).iter().all(|f| f.starts_with(tpm.store())));
}

#[test]
fn a_tpm_locked_by_wrong_pins_says_how_to_clear_the_lockout() {
    let env = TestEnv::new();
    let tpm = SoftwareTpm::start(&env);
    let uri = token_uri("prod");
    let keygen = ["keygen", "-p", "prod", "--pkcs11", &uri];
    // swtpm's dictionary-attack protection allows three wrong PINs.
    for _ in 0..3 {
        let refused = tpm.sfcred(&keygen, "00000000").failure(6);
        assert!(refused.stderr.contains("the token's PIN was refused"), "{refused:?}");
    }
    let locked = tpm.sfcred(&keygen, TOKEN_PIN).failure(6);
    assert!(locked.stderr.contains("the token's PIN is locked"), "{locked:?}");
    assert!(locked.stderr.contains("tpm2_dictionarylockout --clear-lockout"), "{locked:?}");
    assert!(!locked.stderr.contains("PUK"), "a TPM has no PUK: {locked:?}");

    // The fix the message gives works.
    let cleared =
        tpm.command("tpm2_dictionarylockout").args(["--clear-lockout"]).output_within(TIMEOUT).unwrap();
    assert!(cleared.status.success(), "{}", String::from_utf8_lossy(&cleared.stderr));
    tpm.sfcred(&keygen, TOKEN_PIN).success();
}

#[test]
fn a_tpm_that_cannot_be_reached_is_named_not_the_module() {
    let env = TestEnv::new();
    let mut tpm = SoftwareTpm::start(&env);
    tpm.stop_resource_manager();
    let run = tpm.sfcred(&["keygen", "-p", "prod", "--pkcs11", &token_uri("prod")], TOKEN_PIN).failure(6);
    assert!(
        run.stderr.contains(&format!("the PKCS#11 module {TPM_MODULE} loaded, but could not start")),
        "{run:?}"
    );
    assert!(!run.stderr.contains("check module-path"), "the module did load: {run:?}");
    assert!(run.stderr.contains("tpm2-abrmd"), "{run:?}");
}
