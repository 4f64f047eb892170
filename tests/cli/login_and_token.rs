use crate::support::{CONSUMER_KEY, Run, TIMEOUT, TestEnv, USERNAME, WaitWithin, app_keys};

#[test]
fn login_then_token_mints_with_a_verified_assertion() {
    let env = TestEnv::new();
    let login = env.login("default").success();
    assert!(login.stderr.contains("logged in profile \"default\" as ops@acme.test"), "{login:?}");
    assert!(login.stdout.is_empty());
    assert_eq!(env.stand_in.token_requests(), 1, "login verifies with one token request");

    let run = env.run(&["token", "--refresh"]).success();
    let token = run.json();
    assert!(token["access_token"].as_str().unwrap().starts_with("00DSTANDIN"));
    assert_eq!(token["token_type"], "Bearer");
    assert_eq!(token["instance_url"], "https://standin.my.salesforce.com");
    assert_eq!(token["scope"], "web openid api id");
    assert_eq!(token["username"], USERNAME);
    assert_eq!(token["profile"], "default");
    let issued = humantime::parse_rfc3339(token["issued_at"].as_str().unwrap()).unwrap();
    let expires = humantime::parse_rfc3339(token["expires_at"].as_str().unwrap()).unwrap();
    assert_eq!(expires.duration_since(issued).unwrap().as_secs(), 30 * 60, "default ttl");

    let claims = env.stand_in.seen_claims();
    let last = claims.last().unwrap();
    assert_eq!((last.iss.as_str(), last.sub.as_str()), (CONSUMER_KEY, USERNAME));
    assert_eq!(last.aud, "https://login.salesforce.com");
    let iat = last.iat.expect("iat is sent");
    assert!(last.exp > iat && last.exp - iat <= 180, "exp within 3 minutes: {last:?}");
    assert_ne!(claims[0].jti, claims[1].jti, "every assertion has its own jti");
}

#[test]
fn bare_token_format_prints_only_the_token() {
    let env = TestEnv::new();
    env.login("p1").success();
    let run = env.run(&["token", "--profile", "p1", "--format", "token"]).success();
    let lines: Vec<&str> = run.stdout.lines().collect();
    assert_eq!(lines.len(), 1);
    assert!(lines[0].starts_with("00DSTANDIN") && !lines[0].contains(' '), "{lines:?}");
}

#[test]
fn secrets_live_in_the_keychain_and_nowhere_else_on_disk() {
    let env = TestEnv::new();
    env.login("prod").success();
    let stored_id = env.secret_service_lookup("prod/client-id").expect("consumer key in the Secret Service");
    assert_eq!(stored_id, CONSUMER_KEY.as_bytes());
    assert!(env.secret_service_lookup("prod/private-key").is_some(), "key in the Secret Service");

    std::fs::remove_file(env.path("salesforce.key")).unwrap();
    assert_eq!(env.files_containing(CONSUMER_KEY.as_bytes()), Vec::<std::path::PathBuf>::new());
    let key_line = app_keys().0.lines().nth(3).unwrap();
    assert_eq!(env.files_containing(key_line.as_bytes()), Vec::<std::path::PathBuf>::new());
    let settings = std::fs::read_to_string(env.path("config/sfcred/config.toml")).unwrap();
    assert!(settings.contains("username = \"ops@acme.test\""), "{settings}");
}

#[test]
fn a_failed_verification_saves_nothing() {
    let env = TestEnv::new();
    env.login_with("prod", &[("--client-id", "3MVG9WRONG")]).failure(4);
    assert!(!env.path("config/sfcred/config.toml").exists());
    assert_eq!(env.secret_service_lookup("prod/client-id"), None);
    assert_eq!(env.secret_service_lookup("prod/private-key"), None);
}

#[test]
fn logging_in_again_replaces_the_profile() {
    let env = TestEnv::new();
    env.login("prod").success();
    env.login_with("prod", &[("--ttl", "2h")]).success();
    let list = env.run(&["profiles", "--json"]).success().json();
    assert_eq!(list.as_array().unwrap().len(), 1);
    assert_eq!(list[0]["ttl"], "2h");
}

#[test]
fn no_verify_saves_without_a_request() {
    let env = TestEnv::new();
    let mut args = env.login_args("offline");
    args.push("--no-verify".into());
    let run = env.run(&args).success();
    assert!(run.stderr.contains("not verified"), "{run:?}");
    assert_eq!(env.stand_in.token_requests(), 0);
    env.run(&["token", "-p", "offline"]).success();
}

#[test]
fn the_key_can_come_from_stdin() {
    let env = TestEnv::new();
    let args = ["login", "-p", "piped", "--username", USERNAME, "--client-id", CONSUMER_KEY, "--key-stdin"];
    let run = env
        .run_with_stdin(&[&args[..], &["--login-url", env.stand_in.url()]].concat(), app_keys().0.as_bytes());
    run.success();
}

#[test]
fn profiles_lists_settings_without_secrets() {
    let env = TestEnv::new();
    env.run(&["profiles"]).success();
    env.login("prod").success();
    let mut args = env.login_args_with("uat", &[("--audience", "https://test.salesforce.com")]);
    args.push("--no-verify".into());
    env.run(&args).success();

    // Ephemeral ports have five digits, so the columns do not move.
    let port = env.stand_in.url().rsplit(':').next().unwrap();
    let mut table = env.run(&["profiles"]).success().stdout.replace(port, "PORT_");
    let at = table.find("valid until ").unwrap() + "valid until ".len();
    table.replace_range(at..at + "2026-01-01T00:00:00Z".len(), "<30 minutes from now>");
    insta::assert_snapshot!(table, @r"
    PROFILE  USERNAME       LOGIN URL               AUDIENCE                      TTL  STORE           KEY       CACHE  TOKEN
    prod     ops@acme.test  http://127.0.0.1:PORT_  https://login.salesforce.com  30m  secret-service  keychain  file   valid until <30 minutes from now>
    uat      ops@acme.test  http://127.0.0.1:PORT_  https://test.salesforce.com   30m  secret-service  keychain  file   none
    ");
    let json = env.run(&["profiles", "--json"]).success();
    assert!(!json.stdout.contains(CONSUMER_KEY));
    assert_eq!(json.json()[1]["audience"], "https://test.salesforce.com");
}

#[test]
fn logout_removes_secrets_and_settings() {
    let env = TestEnv::new();
    env.login("a").success();
    env.login("b").success();
    env.run(&["logout", "-p", "a"]).success();
    assert_eq!(env.secret_service_lookup("a/client-id"), None);
    assert!(env.secret_service_lookup("b/client-id").is_some());
    env.run(&["token", "-p", "a"]).failure(3);
    env.run(&["logout", "--all"]).success();
    assert_eq!(env.secret_service_lookup("b/private-key"), None);
    assert_eq!(env.run(&["profiles", "--json"]).success().stdout.trim(), "[]");
}

#[test]
fn keyutils_store_works_without_a_daemon() {
    // A unique profile name: the kernel keyring is shared by every test of this user.
    let env = TestEnv::without_keychain();
    let profile = format!("ku-{}", std::process::id());
    let run = env.login_with(&profile, &[("--store", "keyutils")]).success();
    assert!(run.stderr.contains("forgets its keys at reboot"), "{run:?}");
    env.run(&["token", "-p", &profile, "--refresh"]).success();
    assert_eq!(env.stand_in.token_requests(), 2, "the refresh read the key from the kernel keyring");
    env.run(&["logout", "-p", &profile]).success();
    env.run(&["token", "-p", &profile]).failure(3);
}

#[test]
fn sfcred_store_overrides_the_profile_setting() {
    let env = TestEnv::new();
    env.login("ss").success();
    let out = env
        .sfcred()
        .args(["token", "-p", "ss", "--refresh"])
        .env("SFCRED_STORE", "keyutils")
        .output_within(TIMEOUT)
        .unwrap();
    let run = Run::of(out).failure(3);
    assert!(run.stderr.contains("keyutils keychain has no private key"), "{run:?}");
}

/// A person at a terminal: login asks for each missing value (the consumer key hidden).
/// `script` gives sfcred a pseudo-terminal; each answer is typed once its prompt shows.
#[test]
fn login_prompts_at_a_terminal() {
    let env = TestEnv::new();
    let key = env.key_file();
    let my_domain = "\x1b[B\x1b[B"; // two arrow-downs: Production, Sandbox, My Domain URL
    let answers = [
        ("Salesforce username", USERNAME),
        ("My Domain URL", my_domain),
        ("My Domain URL:", env.stand_in.url()),
        ("Consumer key of the app", CONSUMER_KEY),
        ("Path to the RSA private key", key.as_str()),
    ];
    let screen = env.at_terminal("login -p typed", &answers, "logged in profile \"typed\"");
    assert!(screen.contains("checking the setup with"), "progress shows on a terminal: {screen}");
    assert!(!screen.contains(CONSUMER_KEY), "the consumer key is not echoed: {screen}");
    env.run(&["token", "-p", "typed"]).success();
}
