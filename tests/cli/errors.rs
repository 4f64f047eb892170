//! Every error class: what the user sees, and the exit code docs/reference.md documents.

use sfcred_stand_in::Behaviour;

use crate::support::{Run, TIMEOUT, TestEnv, USERNAME, WaitWithin, stranger_key};

#[test]
fn wrong_consumer_key_is_refused_with_what_to_check() {
    let env = TestEnv::new();
    let run = env.login_with("prod", &[("--client-id", "3MVG9WRONG")]).failure(4);
    assert!(run.stderr.contains("invalid_client_id: client identifier invalid"), "{run:?}");
    assert!(run.stderr.contains("check the consumer key"), "{run:?}");
}

#[test]
fn unapproved_user_is_told_to_pre_authorize() {
    let env = TestEnv::new();
    let run = env.login_with("prod", &[("--username", "someone@else.test")]).failure(4);
    assert!(run.stderr.contains("user hasn't approved this consumer"), "{run:?}");
    assert!(run.stderr.contains("Admin approved users are pre-authorized"), "{run:?}");
}

#[test]
fn sandbox_org_with_production_audience_is_explained() {
    let env = TestEnv::new();
    env.stand_in.set_audience("https://test.salesforce.com");
    let run = env.login("prod").failure(4);
    assert!(run.stderr.contains("audience is invalid"), "{run:?}");
    assert!(run.stderr.contains("--sandbox or --audience"), "{run:?}");

    env.login_with("uat", &[("--audience", "https://test.salesforce.com")]).success();
}

#[test]
fn a_key_that_does_not_match_the_certificate_is_named() {
    let env = TestEnv::new();
    let other = env.write("other.key", stranger_key());
    let run = env.login_with("prod", &[("--key-file", &other)]).failure(4);
    assert!(run.stderr.contains("invalid assertion"), "{run:?}");
    assert!(run.stderr.contains("does not match the certificate"), "{run:?}");
}

#[test]
fn bad_key_files_are_usage_errors() {
    let env = TestEnv::new();
    let not_pem = env.write("notes.txt", "just some text\n");
    let run = env.login_with("prod", &[("--key-file", &not_pem)]).failure(2);
    assert!(run.stderr.contains("is not a PEM file"), "{run:?}");

    let encrypted = env.write(
        "enc.key",
        "-----BEGIN ENCRYPTED PRIVATE KEY-----\nMIIBvTBXBgkqhkiG9w0BBQ0wSjApBgkqhkiG9w0BBQwwHAQI\n-----END ENCRYPTED PRIVATE KEY-----\n",
    );
    let run = env.login_with("prod", &[("--key-file", &encrypted)]).failure(2);
    assert!(run.stderr.contains("encrypted private key") && run.stderr.contains("openssl pkey"), "{run:?}");

    let ec_key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap().serialize_pem();
    let ec = env.write("ec.key", &ec_key);
    let run = env.login_with("prod", &[("--key-file", &ec)]).failure(2);
    assert!(run.stderr.contains("not an RSA private key") && run.stderr.contains("RS256"), "{run:?}");

    let missing = env.path("missing.key");
    let run = env.login_with("prod", &[("--key-file", missing.to_str().unwrap())]).failure(2);
    assert!(run.stderr.contains("cannot read the key file"), "{run:?}");
    assert_eq!(env.stand_in.token_requests(), 0, "nothing is sent with a bad key");
}

#[test]
fn plain_http_to_a_remote_host_is_refused_before_anything_is_sent() {
    let env = TestEnv::new();
    let run = env.login_with("prod", &[("--login-url", "http://login.salesforce.com")]).failure(2);
    assert!(run.stderr.contains("plain http is allowed only for loopback hosts"), "{run:?}");
}

#[test]
fn an_unreachable_host_is_a_network_error() {
    let env = TestEnv::new();
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", closed.local_addr().unwrap());
    drop(closed);
    let run = env.login_with("prod", &[("--login-url", &url)]).failure(5);
    assert!(run.stderr.contains("cannot reach") && run.stderr.contains("refused"), "{run:?}");
}

#[test]
fn an_html_page_is_a_server_error() {
    let env = TestEnv::new();
    env.login("prod").success();
    env.stand_in.set_behaviour(Behaviour::MaintenancePage);
    let run = env.run(&["token", "-p", "prod", "--refresh"]).failure(5);
    assert!(run.stderr.contains("answered HTTP 503 with an HTML page"), "{run:?}");
    assert!(!run.stderr.contains("<html"), "the page is described, not dumped: {run:?}");
}

#[test]
fn an_unknown_profile_is_not_logged_in() {
    let env = TestEnv::new();
    let run = env.run(&["token", "-p", "nope"]).failure(3);
    assert!(
        run.stderr.contains("no profile named \"nope\"") && run.stderr.contains("sfcred login"),
        "{run:?}"
    );
    env.login("prod").success();
    let run = env.run(&["token", "-p", "nope"]).failure(3);
    assert!(run.stderr.contains("known profiles: prod"), "{run:?}");
}

#[test]
fn no_d_bus_session_names_the_alternatives() {
    let env = TestEnv::without_keychain();
    let run = env.login("prod").failure(6);
    assert!(run.stderr.contains("secret-service keychain is unavailable"), "{run:?}");
    assert!(run.stderr.contains("--store keyutils"), "{run:?}");
    assert!(!env.path("config/sfcred/config.toml").exists(), "nothing saved");
}

#[test]
fn a_hung_keychain_times_out() {
    let env = TestEnv::without_keychain();
    // A bus that accepts connections and never says a word.
    let socket = env.path("run/silent-bus");
    let _listener = std::os::unix::net::UnixListener::bind(&socket).unwrap();
    let mut args = env.login_args("prod");
    args.push("--no-verify".into());
    let out = env
        .sfcred()
        .args(&args)
        .env("DBUS_SESSION_BUS_ADDRESS", format!("unix:path={}", socket.display()))
        .env("SFCRED_KEYCHAIN_TIMEOUT", "1s")
        .output_within(TIMEOUT)
        .unwrap();
    let run = Run::of(out).failure(6);
    assert!(run.stderr.contains("did not answer within 1s"), "{run:?}");
}

#[test]
fn missing_values_without_a_terminal_name_the_flag() {
    let env = TestEnv::new();
    let run = env.run(&["login", "--username", USERNAME, "--no-input"]).failure(2);
    assert!(run.stderr.contains("--client-id is missing, and sfcred may not ask for it here"), "{run:?}");
}

#[test]
fn bad_flags_are_usage_errors() {
    let env = TestEnv::new();
    let run = env.run(&["token", "--format", "yaml"]);
    assert_eq!(run.code, 2, "{run:?}");
    let run = env.login_with("prod", &[("--profile", "a/b")]).failure(2);
    assert!(run.stderr.contains("invalid profile name"), "{run:?}");
    let run = env.login_with("prod", &[("--ttl", "soon")]).failure(2);
    assert!(run.stderr.contains("like 5m, 30m or 2h (3m to 24h)"), "{run:?}");
}

#[test]
fn a_broken_settings_file_is_named() {
    let env = TestEnv::new();
    std::fs::create_dir_all(env.path("config/sfcred")).unwrap();
    env.write("config/sfcred/config.toml", "[profiles.prod]\nusername = 'x'\nlogin_url = 'ftp://x'\n");
    let run = env.run(&["token", "-p", "prod"]).failure(2);
    assert!(run.stderr.contains("config.toml is not valid sfcred settings"), "{run:?}");
}
