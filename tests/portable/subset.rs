//! What every platform must do: keygen into its keychain, login, cached and minted tokens,
//! one request for a crowd, the protocols, doctor, logout, and failures that lose nothing.

use sfcred_stand_in::tls::TlsFront;

use crate::support::{Run, TIMEOUT, TestEnv, USERNAME, finish};

/// keygen, then login with the stored key: a profile that mints.
fn logged_in(env: &TestEnv, name: &str) -> String {
    let profile = env.profile(name);
    env.keygen(&profile).success();
    env.login(&profile).success();
    profile
}

#[test]
fn keygen_and_login_keep_everything_where_the_platform_wants_it() {
    let env = TestEnv::new("places");
    let profile = env.profile("p");
    let run = env.keygen(&profile).success();
    assert!(run.stderr.contains(&format!("in the {} keychain", env.store())), "{run:?}");
    assert!(env.stored(&profile, "private-key"), "keygen stores the key in {}", env.store());
    env.login(&profile).success();
    assert!(env.stored(&profile, "client-id"));
    assert!(env.settings().contains(&format!("[profiles.{profile}]")), "{}", env.settings());
    assert!(env.cache_dir().join(format!("{profile}.token")).is_file(), "login's token is cached");
    assert!(env.settings_dir().join(format!("certificates/{profile}.pem")).is_file());
    let files =
        std::fs::read_dir(env.home.path()).unwrap().flatten().map(|e| e.file_name()).collect::<Vec<_>>();
    // The platform's own directories (none under wine, whose are in its prefix), and keygen's certificate.
    let platform = [".config", ".cache", "AppData"];
    assert!(
        files.iter().all(|f| f.to_string_lossy().ends_with(".crt") || platform.iter().any(|p| f == p)),
        "nothing else in the home directory: {files:?}"
    );
}

#[test]
fn a_cached_token_costs_no_request_and_a_refresh_one() {
    let env = TestEnv::new("hit");
    let profile = logged_in(&env, "p");
    assert_eq!(env.stand_in.token_requests(), 1, "login's check");
    let first = env.run(&["token", "-p", &profile]).success().json();
    assert_eq!(env.stand_in.token_requests(), 1, "a hit sends nothing");
    assert_eq!(first["instance_url"], "https://standin.my.salesforce.com");
    let refreshed = env.run(&["token", "-p", &profile, "--refresh"]).success().json();
    assert_eq!(env.stand_in.token_requests(), 2, "a refresh mints");
    assert_ne!(first["access_token"], refreshed["access_token"]);
    env.run(&["invalidate", "-p", &profile]).success();
    env.run(&["token", "-p", &profile, "--format", "token"]).success();
    assert_eq!(env.stand_in.token_requests(), 3, "a miss mints");
}

#[test]
fn parallel_callers_make_one_request() {
    let env = TestEnv::new("crowd");
    let profile = logged_in(&env, "p");
    env.run(&["invalidate", "-p", &profile]).success();
    let children: Vec<_> = (0..6)
        .map(|_| {
            env.sfcred()
                .args(["token", "-p", &profile, "--format", "token"])
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    let tokens: Vec<String> =
        children.into_iter().map(|c| Run::of(finish(c, TIMEOUT)).success().stdout).collect();
    assert_eq!(env.stand_in.token_requests(), 2, "login's check and one mint for all six");
    assert!(tokens.iter().all(|t| t == &tokens[0] && !t.is_empty()), "{tokens:?}");
}

#[test]
fn credential_answers_the_json_protocol() {
    let env = TestEnv::new("json");
    let profile = logged_in(&env, "p");
    let request = format!(r#"{{"v":1,"profile":"{profile}","min_valid_secs":60}}"#);
    let answer = env.run_with_stdin(&["credential"], request.as_bytes()).success().json();
    assert_eq!(answer["v"], 1);
    assert!(answer["access_token"].as_str().is_some_and(|t| !t.is_empty()), "{answer}");
    let answer = env.run_with_stdin(&["credential"], br#"{"v":1,"profile":"nobody"}"#).json();
    assert_eq!(answer["error"]["kind"], "not_logged_in", "{answer}");
}

#[test]
fn exec_hands_the_token_to_the_child_and_its_exit_code_back() {
    let env = TestEnv::new("exec");
    let profile = logged_in(&env, "p");
    let token = env.run(&["token", "-p", &profile, "--format", "token"]).success().stdout;
    let (show, exit3): (&[&str], &[&str]) = match env.is_windows() {
        true => (&["cmd", "/c", "echo %SF_ACCESS_TOKEN%"], &["cmd", "/c", "exit 3"]),
        false => (&["sh", "-c", "printf '%s\\n' \"$SF_ACCESS_TOKEN\""], &["sh", "-c", "exit 3"]),
    };
    let run = env.run(&[&["exec", "-p", &profile, "--"][..], show].concat()).success();
    assert_eq!(run.stdout.trim_end(), token.trim_end());
    let run = env.run(&[&["exec", "-p", &profile, "--"][..], exit3].concat());
    assert_eq!(run.code, 3, "the child's exit code: {run:?}");
    let run = env.run(&["exec", "-p", &profile, "--", "no-such-program-anywhere"]);
    assert_eq!(run.code, 127, "{run:?}");
}

#[test]
fn env_prints_for_the_platforms_shell() {
    let env = TestEnv::new("env");
    let profile = logged_in(&env, "p");
    let run = env.run(&["env", "-p", &profile]).success();
    let first = run.stdout.lines().next().unwrap();
    match env.is_windows() {
        true => assert!(first.starts_with("$Env:SF_ACCESS_TOKEN = '"), "PowerShell on Windows: {run:?}"),
        false => assert!(first.starts_with("export SF_ACCESS_TOKEN='"), "bash elsewhere: {run:?}"),
    }
    let run = env.run(&["env", "-p", &profile, "--shell", "powershell"]).success();
    assert_eq!(run.stdout.lines().count(), 5);
    assert!(run.stdout.lines().all(|l| l.starts_with("$Env:")), "{run:?}");
}

#[test]
fn doctor_passes_a_healthy_profile() {
    let env = TestEnv::new("doctor");
    let profile = logged_in(&env, "p");
    let run = env.run(&["doctor", "-p", &profile, "--json"]).success();
    let checks = run.json();
    let checks = checks.as_array().unwrap();
    let failed: Vec<_> = checks.iter().filter(|c| c["status"] == "fail").collect();
    assert!(failed.is_empty(), "{failed:?}");
    let passed = |name: &str| run.doctor_check(name)["status"] == "ok";
    assert!(passed("live mint") && passed("keychain"), "{checks:?}");
}

#[test]
fn logout_revokes_and_leaves_nothing_behind() {
    let env = TestEnv::new("logout");
    let profile = logged_in(&env, "p");
    env.run(&["token", "-p", &profile]).success();
    assert!(!env.files_of(&profile).is_empty());
    let run = env.run(&["logout", "-p", &profile]).success();
    assert!(run.stderr.contains("revoked its token"), "{run:?}");
    assert_eq!(env.stand_in.revocations(), 1);
    for account in ["private-key", "client-id", "token", "pkcs11-pin"] {
        assert!(!env.stored(&profile, account), "{account} is left in {}", env.store());
    }
    assert_eq!(env.files_of(&profile), Vec::<std::path::PathBuf>::new(), "no file of the profile is left");
    assert!(!env.settings().contains(&profile));
}

#[test]
fn a_login_that_fails_after_storing_puts_the_keychain_back() {
    let env = TestEnv::new("undo");
    // A directory where the profile's cached token goes: the login fails at its last write,
    // the token's, after the mint and the keychain's.
    let block_cache = |profile: &str| {
        std::fs::create_dir_all(env.cache_dir().join(format!("{profile}.token")).join("in-the-way")).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            // As sfcred makes it: a cache directory open to others is refused before any write.
            std::fs::set_permissions(env.cache_dir(), std::fs::Permissions::from_mode(0o700)).unwrap();
        }
    };
    let failing_login = |args: &[String]| {
        let mut cmd = env.sfcred();
        cmd.args(args);
        Run::of(crate::support::output_within(&mut cmd, TIMEOUT))
    };

    // A profile with a key from a file: nothing at all is left.
    let fresh = env.profile("fresh");
    block_cache(&fresh);
    let key = env.app_key_file("3MVG9SECONDAPP");
    let mut args = env.login_args(&fresh);
    args[6] = "3MVG9SECONDAPP".into();
    args.extend(["--key-file".into(), env.arg_path(&key)]);
    let run = failing_login(&args);
    assert_ne!(run.code, 0, "{run:?}");
    assert!(run.stderr.contains(&format!("{fresh}.token")), "the token's write failed: {run:?}");
    assert!(run.stderr.contains("hint: "), "{run:?}");
    assert_eq!(env.stand_in.token_requests(), 1, "the failure came after the check");
    for account in ["private-key", "client-id", "pkcs11-pin"] {
        assert!(!env.stored(&fresh, account), "{account} orphaned in {}", env.store());
    }
    assert!(!env.settings().contains(&fresh));

    // A profile made by keygen keeps keygen's key.
    let kept = env.profile("kept");
    env.keygen(&kept).success();
    block_cache(&kept);
    let run = failing_login(&env.login_args(&kept));
    assert_ne!(run.code, 0, "{run:?}");
    assert!(env.stored(&kept, "private-key"), "keygen's key survives");
    assert!(!env.stored(&kept, "client-id"));
    // And the same login, with a cache it can use, works.
    std::fs::remove_dir_all(env.cache_dir().join(format!("{kept}.token"))).unwrap();
    env.login(&kept).success();
    env.run(&["token", "-p", &kept, "--format", "token"]).success();
}

#[test]
fn closed_pipes_end_commands_quietly() {
    let env = TestEnv::new("pipes");
    let profile = env.profile("p");
    let cert = env.arg_path(&env.path("p.crt"));
    // stderr closed before keygen writes its next steps there.
    let mut child = env
        .sfcred()
        .args(["keygen", "--profile", &profile, "--cert-out", &cert])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stderr.take());
    let out = finish(child, TIMEOUT);
    assert_eq!(out.status.code(), Some(0), "a closed stderr is no reason to abort: {out:?}");
    assert!(env.stored(&profile, "private-key"));
    env.upload_certificate(&env.path("p.crt"));
    // stdout closed before the token is printed.
    env.login(&profile).success();
    let mut child = env
        .sfcred()
        .args(["token", "-p", &profile])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let out = finish(child, TIMEOUT);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    assert!(out.stderr.is_empty(), "a broken pipe is said nothing of: {out:?}");
}

#[test]
fn ssl_cert_file_replaces_the_platforms_trust_store() {
    let env = TestEnv::new("tls");
    let key = env.app_key_file("3MVG9TLSAPP");
    let front = TlsFront::start(env.stand_in.url()).unwrap();
    let ca = env.path("private-ca.pem");
    std::fs::write(&ca, &front.ca_pem).unwrap();
    let token = |ca: Option<&std::path::Path>| {
        let mut cmd = env.sfcred();
        cmd.args(["token", "--format", "token"])
            .env("SFCRED_CLIENT_ID", "3MVG9TLSAPP")
            .env("SFCRED_USERNAME", USERNAME)
            .env("SFCRED_PRIVATE_KEY_FILE", env.arg_path(&key))
            .env("SFCRED_LOGIN_URL", front.url());
        if let Some(ca) = ca {
            cmd.env("SSL_CERT_FILE", env.arg_path(ca));
        }
        Run::of(crate::support::output_within(&mut cmd, TIMEOUT))
    };
    let run = token(None).failure(5);
    assert!(run.stderr.contains("is not trusted"), "the OS trust store knows no private CA: {run:?}");
    let run = token(Some(&ca)).success();
    assert!(!run.stdout.trim().is_empty());
    assert_eq!(env.stand_in.token_requests(), 1);
}

/// JWT-based tokens keep their own expiry in the platform's cache, and `open --url-only`
/// hands out a single-use link that holds no token (the frontdoor takes it once).
#[test]
fn jwt_expiry_and_a_single_use_link() {
    let env = TestEnv::new("open");
    env.stand_in.serve_as_instance();
    env.stand_in.issue_jwt_tokens(std::time::Duration::from_secs(600));
    let profile = logged_in(&env, "p");
    let token = env.run(&["token", "-p", &profile]).success().json();
    assert_eq!(token["expiry"], "token", "{token}");
    let run = env.run(&["open", "-p", &profile, "--url-only"]).success();
    let link = run.stdout.trim();
    assert!(link.contains("/secur/frontdoor.jsp?otp="), "{run:?}");
    assert!(!link.contains(token["access_token"].as_str().unwrap()), "{run:?}");
    assert_eq!(env.stand_in.frontdoor_visits(), [], "nothing opened it");
}
