//! Daily use: keygen, doctor, verbose diagnostics, --version.

use sfcred_stand_in::{ConnectedApp, StandIn};

use crate::support::{CONSUMER_KEY, Run, TIMEOUT, TestEnv, USERNAME, WaitWithin};

/// A stand-in whose connected app has the certificate keygen wrote.
fn stand_in_for(certificate: &str) -> StandIn {
    let app = ConnectedApp {
        consumer_key: CONSUMER_KEY.into(),
        certificate_pem: certificate.to_owned(),
        approved_users: vec![USERNAME.into()],
    };
    StandIn::start(0, vec![app]).unwrap()
}

fn keygen(env: &TestEnv, profile: &str, extra: &[&str]) -> Run {
    let cert = env.path(&format!("{profile}.crt"));
    let mut args = vec!["keygen", "--profile", profile, "--cert-out", cert.to_str().unwrap()];
    args.extend(extra);
    env.run(&args)
}

fn login_with_stored_key(env: &TestEnv, profile: &str, url: &str) -> Run {
    env.run(&[
        "login",
        "-p",
        profile,
        "--username",
        USERNAME,
        "--client-id",
        CONSUMER_KEY,
        "--login-url",
        url,
    ])
}

#[test]
fn keygen_then_login_works_without_openssl_or_key_files() {
    let env = TestEnv::new();
    let run = keygen(&env, "fresh", &[]).success();
    assert!(run.stderr.contains("Upload") && run.stderr.contains("sfcred login --profile fresh"), "{run:?}");
    assert!(env.secret_service_lookup("fresh/private-key").is_some(), "the key went to the keychain");
    let certificate = std::fs::read_to_string(env.path("fresh.crt")).unwrap();
    assert!(certificate.starts_with("-----BEGIN CERTIFICATE-----"));
    assert!(env.files_containing(b"PRIVATE KEY").is_empty(), "no key file anywhere");

    // The stand-in verifies the assertion signed with the stored key against the written
    // certificate, as Salesforce does with the uploaded one.
    let salesforce = stand_in_for(&certificate);
    login_with_stored_key(&env, "fresh", salesforce.url()).success();
    assert_eq!(salesforce.token_requests(), 1);
    env.run(&["token", "-p", "fresh", "--refresh"]).success();
}

#[test]
fn keygen_never_replaces_a_key_or_file_unasked() {
    let env = TestEnv::new();
    keygen(&env, "p", &[]).success();
    let stored = env.secret_service_lookup("p/private-key").unwrap();
    let run = keygen(&env, "p", &[]).failure(2);
    assert!(run.stderr.contains("private key of profile \"p\" exists already"), "{run:?}");
    assert!(run.stderr.contains("--force"), "{run:?}");
    assert_eq!(env.secret_service_lookup("p/private-key").unwrap(), stored, "the key is untouched");

    // A certificate file in the way stops keygen before the keychain is touched.
    let run = env.run(&["keygen", "-p", "q", "--cert-out", env.path("p.crt").to_str().unwrap()]).failure(2);
    assert!(run.stderr.contains("p.crt exists already"), "{run:?}");
    assert_eq!(env.secret_service_lookup("q/private-key"), None);

    keygen(&env, "p", &["--force"]).success();
    assert_ne!(env.secret_service_lookup("p/private-key").unwrap(), stored);
}

#[test]
fn keygen_writes_a_key_file_only_when_asked_and_user_only() {
    use std::os::unix::fs::PermissionsExt;
    let env = TestEnv::new();
    let key_out = env.path("copy.key");
    keygen(&env, "p", &["--bits", "3072", "--days", "30", "--key-out", key_out.to_str().unwrap()]).success();
    let mode = std::fs::metadata(&key_out).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    let pem = std::fs::read_to_string(&key_out).unwrap();
    assert!(pem.starts_with("-----BEGIN PRIVATE KEY-----"));
    let run = env.run(&["keygen", "-p", "x", "--bits", "1024"]);
    assert_eq!(run.code, 2, "{run:?}");
}

fn doctor(env: &TestEnv, args: &[&str]) -> (Run, serde_json::Value) {
    let mut all = vec!["doctor", "--json"];
    all.extend(args);
    let run = env.run(&all);
    let checks = serde_json::from_str(&run.stdout).unwrap_or_else(|e| panic!("{e}: {run:?}"));
    (run, checks)
}

fn status_of<'a>(checks: &'a serde_json::Value, name: &str) -> &'a str {
    let check = checks.as_array().unwrap().iter().find(|c| c["name"] == name);
    check.unwrap_or_else(|| panic!("no check {name}: {checks:#}"))["status"].as_str().unwrap()
}

#[test]
fn doctor_passes_a_healthy_profile() {
    let env = TestEnv::new();
    keygen(&env, "ok", &[]).success();
    let salesforce = stand_in_for(&std::fs::read_to_string(env.path("ok.crt")).unwrap());
    login_with_stored_key(&env, "ok", salesforce.url()).success();
    let (run, checks) = doctor(&env, &["-p", "ok"]);
    assert_eq!(run.code, 0, "{run:?}");
    for name in
        ["settings", "keychain", "private key", "consumer key", "certificate", "key matches certificate"]
    {
        assert_eq!(status_of(&checks, name), "ok", "{name}: {checks:#}");
    }
    for name in ["audience", "login URL", "clock", "live mint"] {
        assert_eq!(status_of(&checks, name), "ok", "{name}: {checks:#}");
    }
    let table = env.run(&["doctor", "-p", "ok", "--offline"]).success().stdout;
    assert!(table.contains("ok    keychain") && table.contains("skip  live mint"), "{table}");
    assert!(!table.contains('\x1b'), "no colour outside a terminal");
}

#[test]
fn doctor_names_the_fix_for_each_broken_setting() {
    let env = TestEnv::new();
    // A certificate that expires in ten days, for a key that is not the profile's.
    keygen(&env, "other", &["--days", "10"]).success();
    let expiring = env.path("other.crt");
    let run = env.login_with("prod", &[("--cert", expiring.to_str().unwrap())]).failure(2);
    assert!(run.stderr.contains("the key does not match the certificate"), "login refuses: {run:?}");
    env.login("prod").success();
    let certificates = env.path("config/sfcred/certificates");
    std::fs::copy(&expiring, certificates.join("prod.pem")).unwrap();

    // A sandbox login host with the production audience, and the wrong consumer key.
    let settings = env.path("config/sfcred/config.toml");
    let text = std::fs::read_to_string(&settings).unwrap();
    std::fs::write(&settings, text.replace(env.stand_in.url(), "https://test.salesforce.com")).unwrap();
    let (run, checks) = doctor(&env, &["-p", "prod", "--offline"]);
    assert_eq!(run.code, 1, "a failing check fails doctor: {run:?}");
    assert_eq!(status_of(&checks, "certificate"), "warn");
    assert_eq!(status_of(&checks, "key matches certificate"), "fail");
    assert_eq!(status_of(&checks, "audience"), "warn");
    assert_eq!(status_of(&checks, "live mint"), "skip");
    let fixes: Vec<&str> = checks.as_array().unwrap().iter().filter_map(|c| c["fix"].as_str()).collect();
    assert!(fixes.iter().any(|f| f.contains("sfcred rotate start --profile prod")), "{fixes:?}");
    assert!(fixes.iter().any(|f| f.contains("--audience https://test.salesforce.com")), "{fixes:?}");
}

#[test]
fn doctor_reports_network_and_refusals() {
    let env = TestEnv::new();
    let mut args = env.login_args_with("prod", &[("--client-id", "3MVG9WRONG")]);
    args.push("--no-verify".into());
    env.run(&args).success();
    let (run, checks) = doctor(&env, &["-p", "prod"]);
    assert_eq!(run.code, 1);
    assert_eq!(status_of(&checks, "login URL"), "ok");
    assert_eq!(status_of(&checks, "live mint"), "fail");
    let mint = checks.as_array().unwrap().iter().find(|c| c["name"] == "live mint").unwrap();
    assert!(mint["fix"].as_str().unwrap().contains("consumer key"), "{mint}");

    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", closed.local_addr().unwrap());
    drop(closed);
    let settings = env.path("config/sfcred/config.toml");
    let text = std::fs::read_to_string(&settings).unwrap();
    std::fs::write(&settings, text.replace(env.stand_in.url(), &url)).unwrap();
    let (_, checks) = doctor(&env, &["-p", "prod"]);
    assert_eq!(status_of(&checks, "login URL"), "fail");
}

#[test]
fn doctor_without_a_keychain_says_so() {
    let env = TestEnv::without_keychain();
    std::fs::create_dir_all(env.path("config/sfcred")).unwrap();
    let settings = format!(
        "[profiles.p]\nusername = 'u'\nlogin_url = '{}'\naudience = 'https://login.salesforce.com'\nttl = '30m'\nstore = 'secret-service'\n",
        env.stand_in.url()
    );
    env.write("config/sfcred/config.toml", &settings);
    let (run, checks) = doctor(&env, &["-p", "p", "--offline"]);
    assert_eq!(run.code, 1);
    assert_eq!(status_of(&checks, "keychain"), "fail");
    assert_eq!(status_of(&checks, "private key"), "skip");
}

#[test]
fn mints_warn_once_a_day_about_an_expiring_certificate() {
    let env = TestEnv::new();
    keygen(&env, "soon", &["--days", "5"]).success();
    let salesforce = stand_in_for(&std::fs::read_to_string(env.path("soon.crt")).unwrap());
    let login = login_with_stored_key(&env, "soon", salesforce.url()).success();
    assert!(login.stderr.contains("certificate of profile \"soon\" expires on"), "{login:?}");
    let again = env.run(&["token", "-p", "soon", "--refresh"]).success();
    assert!(!again.stderr.contains("expires on"), "once a day: {again:?}");
}

#[test]
fn verbose_shows_the_exchange_without_secrets() {
    let env = TestEnv::new();
    env.login("prod").success();
    let run = env.run(&["token", "-p", "prod", "--refresh", "-v"]).success();
    let token = run.json()["access_token"].as_str().unwrap().to_owned();
    assert!(run.stderr.contains("sfcred: debug: POST http://127.0.0.1:"), "{run:?}");
    assert!(
        run.stderr.contains("HTTP 200 in") && run.stderr.contains("\"access_token\":\"<redacted>\""),
        "{run:?}"
    );
    assert!(!run.stderr.contains(&token) && !run.stderr.contains(CONSUMER_KEY), "{run:?}");
    assert!(!run.stderr.contains("eyJ"), "no JWT in the log: {run:?}");
    // -v goes before or after the subcommand.
    let before = env.run(&["-v", "token", "-p", "prod", "--refresh"]).success();
    assert!(before.stderr.contains("sfcred: debug:"));
}

#[test]
fn version_names_the_version() {
    let env = TestEnv::without_keychain();
    let run = env.run(&["--version"]).success();
    assert_eq!(run.stdout.trim(), format!("sfcred {}", env!("CARGO_PKG_VERSION")));
}

#[test]
fn doctor_colours_a_terminal_unless_no_color_is_set() {
    let env = TestEnv::new();
    env.login("prod").success();
    let on_terminal = |no_color: bool| {
        let command = format!("{} doctor -p prod --offline", crate::support::sfcred_exe().display());
        let mut script = env.command("script");
        script.args(["-qec", &command, "/dev/null"]);
        if no_color {
            script.env("NO_COLOR", "1");
        }
        Run::of(script.output_within(TIMEOUT).expect("script runs (util-linux)")).success()
    };
    let coloured = on_terminal(false);
    assert!(coloured.stdout.contains("\x1b[32mok"), "{coloured:?}");
    let plain = on_terminal(true);
    assert!(plain.stdout.contains("ok    keychain") && !plain.stdout.contains("\x1b["), "{plain:?}");
}
