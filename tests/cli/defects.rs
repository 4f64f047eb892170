//! Defects found by hostile use (issue 13). Each test failed before its fix.

use std::io::Write;
use std::process::Stdio;
use std::time::{SystemTime, UNIX_EPOCH};

use sfcred_stand_in::tls::TlsFront;

use crate::support::{
    CONSUMER_KEY, PipeReader, Run, TIMEOUT, TestEnv, USERNAME, WaitWithin, app_keys, mkfifo,
};

fn now_ms() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_millis() as u64
}

#[test]
fn durations_past_a_day_are_refused_at_login() {
    let env = TestEnv::new();
    for ttl in ["9000years", "18446744073709551615s", "100000h", "25h"] {
        let run = env.login_with("prod", &[("--ttl", ttl)]).failure(2);
        assert!(run.stderr.contains("invalid --ttl"), "{ttl}: {run:?}");
    }
    env.login("prod").success();
    let run = env.run(&["token", "-p", "prod", "--min-valid", "18446744073709551615s"]).failure(2);
    assert!(run.stderr.contains("invalid --min-valid"), "{run:?}");
}

#[test]
fn settings_with_impossible_durations_are_errors_not_aborts() {
    let env = TestEnv::new();
    env.login("prod").success();
    let original = std::fs::read_to_string(env.path("config/sfcred/config.toml")).unwrap();
    for (from, to) in [
        ("ttl = \"30m\"", "ttl = \"8000years\""),
        ("ttl = \"30m\"", "ttl = \"18446744073709551615s\""),
        ("request_timeout = \"30s\"", "request_timeout = \"18446744073709551615s\""),
    ] {
        assert!(original.contains(from), "{original}");
        env.edit_settings(|_| original.replace(from, to));
        for args in [&["token", "-p", "prod", "--refresh"][..], &["profiles"], &["profiles", "--json"]] {
            let run = env.run(args).failure(2);
            assert!(run.stderr.contains("is not valid sfcred settings"), "{to} {args:?}: {run:?}");
        }
    }
}

#[test]
fn a_huge_username_still_lists() {
    let env = TestEnv::new();
    env.login("prod").success();
    let huge = "u".repeat(65_536);
    env.edit_settings(|text| text.replace(USERNAME, &huge));
    let table = env.run(&["profiles"]).success().stdout;
    assert!(table.lines().nth(1).unwrap().len() < 1000, "a cell is cut: {}", &table[..300]);
    let json = env.run(&["profiles", "--json"]).success().json();
    assert_eq!(json[0]["username"].as_str().unwrap().len(), 65_536, "JSON keeps the value whole");
}

#[test]
fn a_fifo_at_the_cache_path_is_refused_not_waited_on() {
    let env = TestEnv::new();
    env.login("prod").success();
    for args in [&["token", "-p", "prod"][..], &["token", "-p", "prod", "--refresh"], &["profiles"]] {
        let _ = std::fs::remove_file(env.cache_file("prod"));
        mkfifo(&env.cache_file("prod"));
        let run = env.run(args).success();
        assert!(run.stderr.contains("not a regular file"), "{args:?}: {run:?}");
    }
}

#[test]
fn a_token_from_before_a_clock_step_back_proves_no_refresh() {
    let env = TestEnv::new();
    env.login("prod").success();
    let ahead = |env: &TestEnv| {
        // As if minted with the clock 10 minutes fast, which has since been corrected.
        let mut entry = env.cache_entry("prod");
        let issued = now_ms() + 10 * 60 * 1000;
        entry["issued_at"] = issued.into();
        entry["expires_at"] = (issued + 30 * 60 * 1000).into();
        env.set_cache_entry("prod", &entry);
        entry["access_token"].as_str().unwrap().to_owned()
    };
    let stale = ahead(&env);
    let run = env.run(&["token", "-p", "prod", "--refresh"]).success();
    assert_ne!(run.json()["access_token"], stale.as_str(), "--refresh minted");
    assert_eq!(env.stand_in.token_requests(), 2);
    let stale = ahead(&env);
    let run = env.run(&["token", "-p", "prod"]).success();
    assert_ne!(run.json()["access_token"], stale.as_str(), "a token of unknown age is not served");
    assert_eq!(env.stand_in.token_requests(), 3);
}

#[test]
fn settings_that_are_not_utf8_are_a_usage_error() {
    let env = TestEnv::new();
    env.login("prod").success();
    std::fs::write(env.path("config/sfcred/config.toml"), b"[profiles.\xff\xfe]\n").unwrap();
    let run = env.run(&["profiles"]).failure(2);
    assert!(run.stderr.contains("is not valid sfcred settings: it is not UTF-8"), "{run:?}");
}

#[test]
fn an_unsafe_cache_directory_is_refused_on_a_hit_too() {
    use std::os::unix::fs::PermissionsExt;
    let env = TestEnv::new();
    env.login("prod").success();
    let dir = env.cache_file("prod").parent().unwrap().to_owned();
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o777)).unwrap();
    let run = env.run(&["token", "-p", "prod"]).failure(1);
    assert!(run.stderr.contains("is unsafe: others may use it (mode 0777)"), "{run:?}");
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700)).unwrap();
    std::os::unix::fs::chown(&dir, Some(54_321), None).unwrap();
    let run = env.run(&["token", "-p", "prod"]).failure(1);
    assert!(run.stderr.contains("belongs to user id 54321"), "{run:?}");
    assert_eq!(env.stand_in.token_requests(), 1, "nothing served, nothing minted");
}

#[test]
fn a_symlink_at_the_lock_path_is_not_followed() {
    let env = TestEnv::new();
    env.login("prod").success();
    std::fs::remove_file(env.cache_file("prod")).unwrap();
    let lock = env.cache_file("prod").with_extension("lock");
    let _ = std::fs::remove_file(&lock);
    let target = env.path("planted");
    std::os::unix::fs::symlink(&target, &lock).unwrap();
    let run = env.run(&["token", "-p", "prod"]).failure(1);
    assert!(run.stderr.contains("prod.lock is not sfcred's: it is a symbolic link"), "{run:?}");
    assert!(!target.exists(), "the link's target was created");
}

#[test]
fn git_asking_for_another_user_gets_nothing() {
    let env = TestEnv::new();
    env.login("prod").success();
    let host = env.stand_in.url().trim_start_matches("http://").to_owned();
    let ask = |user: &str, profile: &[&str]| {
        let request = format!("protocol=https\nhost={host}\nusername={user}\n\n");
        env.run_with_stdin(&[&["git-credential", "get"][..], profile].concat(), request.as_bytes()).success()
    };
    for profile in [&["-p", "prod"][..], &[]] {
        assert_eq!(ask("mallory@evil.test", profile).stdout, "", "{profile:?}");
        assert!(ask(USERNAME, profile).stdout.contains("password=00DSTANDIN"), "{profile:?}");
    }
}

#[test]
fn messages_are_safe_to_print() {
    let env = TestEnv::new();
    // No profile can have the name: a usage error (issue 18), printed safely all the same.
    let run = env.run(&["token", "-p", "evil\x1b[31m\x07name"]).failure(2);
    assert!(!run.stderr.contains(['\x1b', '\x07']), "raw control characters reach the terminal: {run:?}");
    assert!(run.stderr.contains("evil\\u{1b}[31m\\u{7}name"), "{run:?}");

    let run =
        env.login_with("prod", &[("--login-url", "https://alice:hunter2@acme.my.salesforce.com")]).failure(2);
    assert!(!run.stderr.contains("hunter2") && run.stderr.contains("must not carry credentials"), "{run:?}");

    env.login("prod").success();
    env.edit_settings(|text| text.replace("http://127.0.0.1", "https://alice:hunter2@127.0.0.1"));
    for args in [&["doctor", "-p", "prod", "--offline"][..], &["doctor", "-p", "prod", "--offline", "--json"]]
    {
        let run = env.run(args);
        assert!(!run.stdout.contains("hunter2") && !run.stderr.contains("hunter2"), "{args:?}: {run:?}");
        assert!(run.stdout.contains("carry credentials"), "{args:?}: {run:?}");
    }

    let huge = format!("http://{}.example.com", "a".repeat(900_000));
    env.edit_settings(|text| {
        let start = text.find("login_url = \"").unwrap() + 13;
        let end = start + text[start..].find('"').unwrap();
        format!("{}{huge}{}", &text[..start], &text[end..])
    });
    let run = env.run(&["token", "-p", "prod"]).failure(2);
    assert!(run.stderr.len() < 10_000, "{} bytes of stderr", run.stderr.len());
}

#[test]
fn credential_answers_without_waiting_for_end_of_input() {
    let env = TestEnv::new();
    env.login("prod").success();
    let mut child = env
        .sfcred()
        .args(["credential"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(br#"{"v":1,"profile":"prod"}"#).unwrap();
    stdin.flush().unwrap();
    // The pipe stays open, as cargo keeps it for its credential providers.
    let mut stdout = PipeReader::new(child.stdout.take().unwrap());
    let answer = stdout.read_until("\n", TIMEOUT).to_owned();
    assert!(answer.contains("\"access_token\":\"00DSTANDIN"), "{answer}");
    drop(stdin);
    assert!(child.wait_within(TIMEOUT).unwrap().success());
}

#[test]
fn a_damaged_cache_file_is_reported_once() {
    let env = TestEnv::new();
    env.login("prod").success();
    std::fs::write(env.cache_file("prod"), "not a cache entry").unwrap();
    let run = env.run(&["token", "-p", "prod"]).success();
    assert_eq!(run.stderr.matches("ignoring the cached token").count(), 1, "{run:?}");
    // git's helper reads the cache to match hosts, then for the token: still one warning.
    std::fs::write(env.cache_file("prod"), "not a cache entry").unwrap();
    let request = b"protocol=https\nhost=standin.my.salesforce.com\n\n";
    let run = env.run_with_stdin(&["git-credential", "get"], request).success();
    assert_eq!(run.stderr.matches("ignoring the cached token").count(), 1, "{run:?}");
}

#[test]
fn an_untrusted_certificate_says_how_to_trust_it() {
    let env = TestEnv::without_keychain();
    let front = TlsFront::start(env.stand_in.url()).unwrap();
    let ca = env.write("private-ca.pem", &front.ca_pem);
    let token = |ca: Option<&str>| {
        let mut cmd = env.sfcred();
        cmd.args(["token", "--format", "token"])
            .env("SFCRED_CLIENT_ID", CONSUMER_KEY)
            .env("SFCRED_USERNAME", USERNAME)
            .env("SFCRED_PRIVATE_KEY", &app_keys().0)
            .env("SFCRED_LOGIN_URL", front.url());
        if let Some(ca) = ca {
            cmd.env("SSL_CERT_FILE", ca);
        }
        Run::of(cmd.output_within(TIMEOUT).unwrap())
    };
    let run = token(None).failure(5);
    assert!(run.stderr.contains(&format!("{}/services/oauth2/token is not trusted", front.url())), "{run:?}");
    assert!(run.stderr.contains("update-ca-certificates") && run.stderr.contains("SSL_CERT_FILE"), "{run:?}");
    let run = token(Some(&ca)).success();
    assert!(run.stdout.starts_with("00DSTANDIN"), "{run:?}");
}

#[test]
fn zsh_completes_on_the_first_tab_when_autoloaded() {
    let env = TestEnv::without_keychain();
    std::fs::create_dir_all(env.path("config/sfcred")).unwrap();
    let profile = |name: &str| {
        format!(
            "[profiles.{name}]\nusername = \"{name}@acme.test\"\nlogin_url = \"https://login.salesforce.com\"\n\
             audience = \"https://login.salesforce.com\"\nttl = \"30m\"\nstore = \"secret-service\"\n\n"
        )
    };
    env.write("config/sfcred/config.toml", &(profile("dev") + &profile("prod")));
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/cli/zsh-first-tab.zsh");
    let completions = concat!(env!("CARGO_MANIFEST_DIR"), "/completions");
    for mode in ["fpath", "source"] {
        let out = env
            .command("zsh")
            .arg(script)
            .arg(crate::support::sfcred_exe())
            .args([completions, mode])
            .env("ZPTY_TIMEOUT", "60")
            .output_within(TIMEOUT)
            .expect("zsh runs (scripts/test installs it)");
        let run = Run::of(out).success();
        let first_tab = run.stdout.split("--- TAB 1").nth(1).unwrap_or_default();
        assert!(first_tab.contains("dev") && first_tab.contains("prod"), "{mode}: {run:?}");
    }
}
