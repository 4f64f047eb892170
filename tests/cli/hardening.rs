//! Headless machines, hostile files, and the leak test.

use std::path::{Path, PathBuf};

use sfcred_stand_in::ConnectedApp;

use crate::support::{CONSUMER_KEY, Run, TIMEOUT, TOKEN_PIN, TestEnv, USERNAME, WaitWithin, app_keys};

// --- headless: the environment alone ---

fn with_env_profile(env: &TestEnv, args: &[&str], key: (&str, &str)) -> Run {
    let out = env
        .sfcred()
        .args(args)
        .env("SFCRED_CLIENT_ID", CONSUMER_KEY)
        .env("SFCRED_USERNAME", USERNAME)
        .env("SFCRED_LOGIN_URL", env.stand_in.url())
        .env(key.0, key.1)
        .output_within(TIMEOUT)
        .unwrap();
    Run::of(out)
}

#[test]
fn token_works_from_the_environment_alone() {
    // No D-Bus, no keychain, no settings file.
    let env = TestEnv::without_keychain();
    let key = ("SFCRED_PRIVATE_KEY", app_keys().0.as_str());
    let first = with_env_profile(&env, &["token"], key).success().json();
    assert_eq!(first["username"], USERNAME);
    assert!(first["profile"].as_str().unwrap().starts_with("env-"));
    let again = with_env_profile(&env, &["token"], key).success().json();
    assert_eq!(again["access_token"], first["access_token"], "cached in the runtime directory");
    assert_eq!(env.stand_in.token_requests(), 1);
    let cached: Vec<PathBuf> =
        std::fs::read_dir(env.path("run/sfcred")).unwrap().map(|e| e.unwrap().path()).collect();
    assert!(cached.iter().any(|p| p.extension().is_some_and(|e| e == "token")), "{cached:?}");
    assert!(!env.path("config/sfcred/config.toml").exists());

    let key_file = env.write("ci.key", &app_keys().0);
    let run = with_env_profile(
        &env,
        &["token", "--refresh", "--format", "token"],
        ("SFCRED_PRIVATE_KEY_FILE", &key_file),
    );
    assert!(run.success().stdout.starts_with("00DSTANDIN"));
    let run = with_env_profile(&env, &["env", "--shell", "bash"], key).success();
    assert!(run.stdout.contains("export SF_ACCESS_TOKEN='00DSTANDIN"));
}

#[test]
fn an_incomplete_environment_names_what_is_missing() {
    let env = TestEnv::without_keychain();
    let out = env.sfcred().arg("token").env("SFCRED_CLIENT_ID", CONSUMER_KEY).output_within(TIMEOUT).unwrap();
    let run = Run::of(out).failure(2);
    assert!(run.stderr.contains("SFCRED_USERNAME"), "{run:?}");
    let out = env
        .sfcred()
        .arg("token")
        .env("SFCRED_CLIENT_ID", CONSUMER_KEY)
        .env("SFCRED_USERNAME", USERNAME)
        .output_within(TIMEOUT)
        .unwrap();
    let run = Run::of(out).failure(2);
    assert!(run.stderr.contains("SFCRED_PRIVATE_KEY or SFCRED_PRIVATE_KEY_FILE"), "{run:?}");
}

#[test]
fn login_without_a_secret_service_lists_the_choices_and_writes_no_file() {
    let env = TestEnv::without_keychain();
    let run = env.login("prod").failure(6);
    assert!(run.stderr.contains("--store keyutils") && run.stderr.contains("SFCRED_CLIENT_ID"), "{run:?}");
    // The login's check was a login Salesforce counted: the budget counts it too (counts
    // alone, under a digest's name).
    let is_budget = |p: &PathBuf| p.file_name().unwrap().to_str().unwrap().starts_with("logins-");
    let written: Vec<PathBuf> = walk(env.home.path())
        .into_iter()
        .filter(|p| !p.ends_with("salesforce.key") && !is_budget(p))
        .collect();
    assert_eq!(written, Vec::<PathBuf>::new(), "no fallback file of any kind");
}

// --- hostile files ---

#[test]
fn a_broken_settings_file_is_never_overwritten() {
    let env = TestEnv::new();
    std::fs::create_dir_all(env.path("config/sfcred")).unwrap();
    for broken in ["this is { not toml", "[profiles.a]\nusername='x'\n[profiles.a]\nusername='y'\n"] {
        env.write("config/sfcred/config.toml", broken);
        let run = env.login("prod").failure(2);
        assert!(run.stderr.contains("is not valid sfcred settings"), "{run:?}");
        assert_eq!(std::fs::read_to_string(env.path("config/sfcred/config.toml")).unwrap(), broken);
        assert_eq!(env.secret_service_lookup("prod/client-id"), None, "nothing stored either");
    }
}

#[test]
fn huge_or_binary_key_files_are_refused() {
    let env = TestEnv::new();
    let huge = env.path("huge.key");
    std::fs::write(&huge, vec![b'A'; 10 << 20]).unwrap();
    let run = env.login_with("prod", &[("--key-file", huge.to_str().unwrap())]).failure(2);
    assert!(run.stderr.contains("too large for a key"), "{run:?}");

    let binary = env.path("binary.key");
    std::fs::write(&binary, [0u8, 159, 146, 150, 255, 0, 1]).unwrap();
    let run = env.login_with("prod", &[("--key-file", binary.to_str().unwrap())]).failure(2);
    assert!(run.stderr.contains("is not a PEM file"), "{run:?}");
}

// --- the leak test ---

const HSM_CONSUMER_KEY: &str = "3MVG9HSMCONSUMERKEY9876543210";
const WRONG_PIN: &str = "31415926";

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        match entry.file_type() {
            Ok(t) if t.is_dir() => files.extend(walk(&path)),
            Ok(t) if t.is_file() => files.push(path),
            _ => {}
        }
    }
    files
}

/// The key's material as it could appear: its PEM lines and runs of its DER bytes.
fn key_material() -> Vec<Vec<u8>> {
    let pem_text = &app_keys().0;
    let mut needles: Vec<Vec<u8>> =
        pem_text.lines().filter(|l| l.len() > 40).map(|l| l.as_bytes().to_vec()).collect();
    let der = pem::parse(pem_text).unwrap().into_contents();
    needles.extend(der.chunks(48).skip(1).map(<[u8]>::to_vec));
    needles
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

struct Step {
    args: Vec<String>,
    stdin: Option<String>,
    /// The caller asked for the token on stdout.
    token_out: bool,
}

fn step(args: &[&str], stdin: Option<&str>, token_out: bool) -> Step {
    Step { args: args.iter().map(|a| a.to_string()).collect(), stdin: stdin.map(String::from), token_out }
}

#[test]
fn no_secret_appears_anywhere_it_should_not() {
    let env = TestEnv::new();
    let key_file = env.key_file();
    let url = env.stand_in.url().to_owned();
    let login = |profile: &str, client_id: &str| {
        vec![
            "-v",
            "login",
            "-p",
            profile,
            "--username",
            USERNAME,
            "--client-id",
            client_id,
            "--key-file",
            &key_file,
            "--login-url",
            &url,
        ]
        .into_iter()
        .map(String::from)
        .collect::<Vec<_>>()
    };
    // A second connected app, whose key is on a PKCS#11 token.
    let token = env.softhsm_token("leaks");
    let (path, query) = token.split_once('?').unwrap();
    // The PINs come from files named in the URI (a pin-value on a command line is refused).
    let pin_file = env.write("hsm.pin", TOKEN_PIN);
    let wrong_pin_file = env.write("wrong.pin", WRONG_PIN);
    let hsm_uri = format!("{path};object=hsm?{query}&pin-source={pin_file}");
    let wrong_pin_uri = format!("{path};object=hsm?{query}&pin-source={wrong_pin_file}");
    let keygen_args: Vec<String> =
        ["-v", "keygen", "-p", "hsm", "--pkcs11", &hsm_uri].into_iter().map(String::from).collect();
    let keygen = env.run(&keygen_args).success();
    let certificate_pem = std::fs::read_to_string(env.path("hsm.crt")).unwrap();
    let app = ConnectedApp {
        consumer_key: HSM_CONSUMER_KEY.into(),
        certificate_pem,
        approved_users: vec![USERNAME.into()],
    };
    env.stand_in.add_app(app).unwrap();
    let token_login = |profile: &str, uri: &str| {
        [
            "-v",
            "login",
            "-p",
            profile,
            "--pkcs11",
            uri,
            "--username",
            USERNAME,
            "--client-id",
            HSM_CONSUMER_KEY,
            "--login-url",
            &url,
        ]
        .into_iter()
        .map(String::from)
        .collect::<Vec<_>>()
    };
    let mut steps = vec![
        Step { args: token_login("hsm", &hsm_uri), stdin: None, token_out: false },
        Step { args: token_login("hsmbad", &wrong_pin_uri), stdin: None, token_out: false },
        step(&["-v", "token", "-p", "hsm", "--refresh"], None, true),
        step(&["-v", "doctor", "-p", "hsm"], None, false),
        Step { args: login("default", CONSUMER_KEY), stdin: None, token_out: false },
        Step { args: login("bad", "3MVG9WRONGKEY"), stdin: None, token_out: false },
        step(&["-v", "token"], None, true),
        step(&["-v", "token", "--refresh", "--format", "token"], None, true),
        step(&["-v", "token", "--format", "exec-credential"], None, true),
        step(&["-v", "token", "-p", "missing"], None, false),
        step(&["-v", "credential"], Some("{}"), true),
        step(&["-v", "credential"], Some("{\"v\":9}"), false),
        step(&["-v", "credential"], Some("{\"profile\":\"bad\"}"), false),
        step(
            &["-v", "git-credential", "get"],
            Some("protocol=https\nhost=standin.my.salesforce.com\n"),
            true,
        ),
        step(&["-v", "git-credential", "store"], Some("protocol=https\nhost=x\npassword=p\n"), false),
        step(&["-v", "env", "--shell", "fish"], None, true),
        step(&["-v", "exec", "--", "true"], None, false),
        step(&["-v", "profiles"], None, false),
        step(&["-v", "profiles", "--json"], None, false),
        step(&["-v", "doctor"], None, false),
        step(&["-v", "doctor", "--json", "-p", "bad"], None, false),
        step(&["-v", "keygen", "-p", "made"], None, false),
        step(&["-v", "rotate", "start", "-p", "default", "--cert-out", "default.next.crt"], None, false),
        step(&["-v", "rotate", "status", "--json"], None, false),
        step(&["-v", "rotate", "abort", "-p", "default"], None, false),
        step(&["-v", "eca", "-p", "default", "--name", "Leak_Test"], None, false),
        step(
            &["-v", "git-credential", "erase"],
            Some("protocol=https\nhost=standin.my.salesforce.com\n"),
            false,
        ),
        step(&["-v", "invalidate"], None, false),
        step(&["-v", "logout", "-p", "bad"], None, false),
        step(&["--help"], None, false),
    ];
    let mut runs = vec![(keygen_args, false, keygen)];
    for step in steps.drain(..) {
        let run = env.run_with_stdin(&step.args, step.stdin.unwrap_or_default().as_bytes());
        runs.push((step.args, step.token_out, run));
    }
    for file in [&key_file, &pin_file, &wrong_pin_file] {
        std::fs::remove_file(file).unwrap();
    }

    // Every token the stand-in issued, from the runs that asked for one.
    let mut tokens: Vec<String> = Vec::new();
    for (_, token_out, run) in &runs {
        if *token_out && run.code == 0 {
            tokens.extend(
                run.stdout
                    .split(|c: char| !(c.is_ascii_alphanumeric() || c == '!' || c == '.'))
                    .filter(|w| w.starts_with("00DSTANDIN") && w.contains("!AR"))
                    .map(String::from),
            );
        }
    }
    assert!(!tokens.is_empty());
    let assertions = env.stand_in.assertions();
    assert!(
        assertions.len() >= 4 && assertions.len() == env.stand_in.token_requests(),
        "every mint is scanned for"
    );

    let mut never: Vec<(String, Vec<u8>)> = vec![
        ("consumer key".into(), CONSUMER_KEY.into()),
        ("consumer key".into(), HSM_CONSUMER_KEY.into()),
        ("a PIN".into(), TOKEN_PIN.into()),
        ("a wrong PIN".into(), WRONG_PIN.into()),
    ];
    never.extend(key_material().into_iter().map(|k| ("key material".to_owned(), k)));
    never.extend(assertions.iter().map(|a| ("an assertion".to_owned(), a.as_bytes().to_vec())));
    let token_needles: Vec<(String, Vec<u8>)> =
        tokens.iter().map(|t| ("a token".to_owned(), t.as_bytes().to_vec())).collect();

    for (args, token_out, run) in &runs {
        for (what, needle) in never.iter().chain(if *token_out { [].iter() } else { token_needles.iter() }) {
            assert!(!contains(run.stdout.as_bytes(), needle), "{what} on stdout of {args:?}");
        }
        for (what, needle) in never.iter().chain(token_needles.iter()) {
            assert!(!contains(run.stderr.as_bytes(), needle), "{what} on stderr of {args:?}: {}", run.stderr);
        }
    }

    // Files: tokens only in the token cache; key, consumer key and assertions nowhere.
    for file in walk(env.home.path()) {
        let bytes = std::fs::read(&file).unwrap();
        for (what, needle) in &never {
            assert!(!contains(&bytes, needle), "{what} in {}", file.display());
        }
        if file.extension().is_some_and(|e| e == "token") {
            continue;
        }
        for (what, needle) in &token_needles {
            assert!(!contains(&bytes, needle), "{what} in {}", file.display());
        }
    }
}
