//! Keys on a PKCS#11 token (SoftHSM2): made there by keygen or by another tool, used by
//! login and token, never copied off; every failure named with its fix.

use std::process::{Child, Stdio};

use sfcred_stand_in::certificate_for_public_key;

use crate::support::{
    CONSUMER_KEY, Run, SOFTHSM_MODULE, TIMEOUT, TOKEN_PIN, TestEnv, USERNAME, WaitWithin, app_keys,
};

/// `uri` with `object=` added before its query.
fn with_object(uri: &str, object: &str) -> String {
    let (path, query) = uri.split_once('?').unwrap();
    format!("{path};object={object}?{query}")
}

/// `sfcred login` with the key on a token at `uri`, for the stand-in's app and user.
pub fn login_args<'a>(env: &'a TestEnv, profile: &'a str, uri: &'a str) -> [&'a str; 11] {
    let url = env.stand_in.url();
    [
        "login",
        "-p",
        profile,
        "--pkcs11",
        uri,
        "--username",
        USERNAME,
        "--client-id",
        CONSUMER_KEY,
        "--login-url",
        url,
    ]
}

fn run_with_pin(env: &TestEnv, args: &[&str]) -> Run {
    Run::of(env.sfcred().args(args).env("SFCRED_PKCS11_PIN", TOKEN_PIN).output_within(TIMEOUT).unwrap())
}

pub fn pkcs11_tool(env: &TestEnv, args: &[&str]) -> String {
    let out = env
        .command("pkcs11-tool")
        .args(["--module", SOFTHSM_MODULE, "--login", "--pin", TOKEN_PIN])
        .args(args)
        .output_within(TIMEOUT)
        .expect("pkcs11-tool runs (scripts/test installs opensc)");
    assert!(out.status.success(), "pkcs11-tool {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// keygen on the token, the certificate uploaded, login: a profile whose key is on the token.
pub fn token_profile(env: &TestEnv, profile: &str) -> String {
    let uri = with_object(&env.softhsm_token("sfcred"), profile);
    run_with_pin(env, &["keygen", "-p", profile, "--pkcs11", &uri]).success();
    let certificate = std::fs::read_to_string(env.path(&format!("{profile}.crt"))).unwrap();
    env.stand_in.upload_certificate(CONSUMER_KEY, &certificate).unwrap();
    let login = login_args(env, profile, &uri);
    run_with_pin(env, &login).success();
    uri
}

#[test]
fn a_key_made_on_the_token_mints_and_never_leaves_it() {
    let env = TestEnv::new();
    let uri = with_object(&env.softhsm_token("sfcred"), "prod");
    let keygen = run_with_pin(&env, &["keygen", "-p", "prod", "--pkcs11", &uri]).success();
    assert!(keygen.stderr.contains("cannot be copied off the token"), "{keygen:?}");
    assert!(
        keygen.stderr.contains("sfcred login --profile prod --pkcs11 'pkcs11:token=sfcred;object=prod;id=%"),
        "{keygen:?}"
    );

    // The private key object, read back through PKCS#11 by another tool.
    let objects = pkcs11_tool(&env, &["--list-objects", "--type", "privkey"]);
    assert!(objects.contains("label:      prod"), "{objects}");
    assert!(objects.contains("sensitive") && objects.contains("never extractable"), "{objects}");

    let certificate = std::fs::read_to_string(env.path("prod.crt")).unwrap();
    env.stand_in.upload_certificate(CONSUMER_KEY, &certificate).unwrap();
    let login = login_args(&env, "prod", &uri);
    let run = run_with_pin(&env, &login).success();
    assert!(run.stderr.contains("verified with"), "{run:?}");
    // The PIN given at login is in the keychain: later calls need no SFCRED_PKCS11_PIN.
    let token = env.run(&["token", "-p", "prod", "--refresh", "--format", "token"]).success();
    assert!(token.stdout.starts_with("00DSTANDIN"), "{token:?}");
    assert_eq!(env.stand_in.token_requests(), 2);

    let settings = std::fs::read_to_string(env.path("config/sfcred/config.toml")).unwrap();
    assert!(settings.contains(&format!("pkcs11 = \"{}", uri.split('?').next().unwrap())), "{settings}");
    let profiles = env.run(&["profiles"]).success().stdout;
    assert!(
        profiles.contains("pkcs11:token=sfcred;object=prod;id=%"),
        "the key's own URI, label and id: {profiles}"
    );
    assert!(env.files_containing(TOKEN_PIN.as_bytes()).is_empty(), "the PIN is in a file");
    assert!(!profiles.contains(TOKEN_PIN));

    let doctor = env.run(&["doctor", "-p", "prod", "--json"]).success().json();
    let status = |name: &str| {
        doctor.as_array().unwrap().iter().find(|c| c["name"] == name).map(|c| c["status"].clone()).unwrap()
    };
    for name in [
        "PKCS#11 module",
        "token",
        "PIN",
        "private key",
        "key protection",
        "key matches certificate",
        "live mint",
    ] {
        assert_eq!(status(name), "ok", "{name}: {doctor}");
    }
}

/// `sfcred certificate` checks the certificate against the key on the token, with the PIN
/// that login kept in the keychain.
#[test]
fn a_certificate_is_recorded_for_a_key_on_the_token() {
    let env = TestEnv::new();
    token_profile(&env, "prod");
    let certificate = env.path("prod.crt");
    let recorded = env.run(&["certificate", "-p", "prod", certificate.to_str().unwrap()]).success();
    assert!(recorded.stderr.contains("recorded the certificate of profile \"prod\"'s key"), "{recorded:?}");
    let other = env.write("other.crt", &sfcred_stand_in::key_and_certificate("someone else").1);
    let refused = env.run(&["certificate", "-p", "prod", &other]).failure(2);
    assert!(refused.stderr.contains("does not match"), "{refused:?}");
}

#[test]
fn a_key_made_elsewhere_logs_in_by_uri() {
    let env = TestEnv::new();
    let token = env.softhsm_token("yubikey-like");
    pkcs11_tool(&env, &["--keypairgen", "--key-type", "rsa:2048", "--label", "existing", "--id", "0a0b"]);
    let spki = env.path("existing.der");
    pkcs11_tool(
        &env,
        &["--read-object", "--type", "pubkey", "--label", "existing", "-o", spki.to_str().unwrap()],
    );
    let certificate = certificate_for_public_key(&std::fs::read(&spki).unwrap());
    env.stand_in.upload_certificate(CONSUMER_KEY, &certificate).unwrap();
    let (path, query) = token.split_once('?').unwrap();
    let uri = format!("{path};id=%0A%0B?{query}");
    let cert = env.write("existing.crt", &certificate);
    let run = run_with_pin(
        &env,
        &[
            "login",
            "-p",
            "hsm",
            "--pkcs11",
            &uri,
            "--cert",
            &cert,
            "--username",
            USERNAME,
            "--client-id",
            CONSUMER_KEY,
            "--login-url",
            env.stand_in.url(),
        ],
    )
    .success();
    assert!(!run.stderr.contains(TOKEN_PIN), "{run:?}");
    // The PIN given at login is in the keychain: the refresh needs no SFCRED_PKCS11_PIN.
    env.run(&["token", "-p", "hsm", "--refresh"]).success();
    let settings = std::fs::read_to_string(env.path("config/sfcred/config.toml")).unwrap();
    assert!(!settings.contains("pin-value") && !settings.contains(TOKEN_PIN), "{settings}");
}

#[test]
fn failures_name_their_fix() {
    let env = TestEnv::new();
    let uri = token_profile(&env, "prod");
    let login_with_uri = |uri: &str| {
        let args = [
            "login",
            "-p",
            "other",
            "--pkcs11",
            uri,
            "--username",
            USERNAME,
            "--client-id",
            CONSUMER_KEY,
            "--login-url",
            env.stand_in.url(),
            "--no-input",
        ];
        Run::of(env.sfcred().args(args).env("SFCRED_PKCS11_PIN", TOKEN_PIN).output_within(TIMEOUT).unwrap())
    };

    let run = login_with_uri(&uri.replace(SOFTHSM_MODULE, "/nowhere/libnothing.so")).failure(6);
    assert!(run.stderr.contains("cannot load the PKCS#11 module /nowhere/libnothing.so"), "{run:?}");
    let run = login_with_uri(&uri.replace("token=sfcred", "token=absent")).failure(6);
    assert!(
        run.stderr.contains("no PKCS#11 token matches") && run.stderr.contains("token=sfcred"),
        "{run:?}"
    );
    let run = login_with_uri(&uri.replace("object=prod", "object=absent")).failure(3);
    assert!(run.stderr.contains("no private key on the token matches"), "{run:?}");

    pkcs11_tool(&env, &["--keypairgen", "--key-type", "rsa:2048", "--label", "twin", "--id", "01"]);
    pkcs11_tool(&env, &["--keypairgen", "--key-type", "rsa:2048", "--label", "twin", "--id", "02"]);
    let run = login_with_uri(&uri.replace("object=prod", "object=twin")).failure(2);
    assert!(
        run.stderr.contains("2 private keys on the token match") && run.stderr.contains("id="),
        "{run:?}"
    );
    pkcs11_tool(&env, &["--keypairgen", "--key-type", "EC:prime256v1", "--label", "curve"]);
    let run = login_with_uri(&uri.replace("object=prod", "object=curve")).failure(2);
    assert!(run.stderr.contains("not RSA"), "{run:?}");

    let wrong = Run::of(
        env.sfcred()
            .args(["token", "-p", "prod", "--refresh"])
            .env("SFCRED_PKCS11_PIN", "00000000")
            .output_within(TIMEOUT)
            .unwrap(),
    )
    .failure(6);
    assert!(wrong.stderr.contains("PIN was refused") && !wrong.stderr.contains("00000000"), "{wrong:?}");
    let no_pin =
        env.run(&["keygen", "-p", "x", "--pkcs11", &uri.replace("object=prod", "object=x")]).failure(6);
    assert!(
        no_pin.stderr.contains("no PIN for the token") && no_pin.stderr.contains("SFCRED_PKCS11_PIN"),
        "{no_pin:?}"
    );
    let twin = uri.replace("object=prod", "object=twin");
    let exists = run_with_pin(&env, &["keygen", "-p", "other", "--pkcs11", &twin, "--cert-out", "again.crt"])
        .failure(2);
    assert!(exists.stderr.contains("a key labelled \"twin\" exists on the token already"), "{exists:?}");
    // Another profile's live key is not for --force to take.
    let keygen = ["keygen", "-p", "other", "--pkcs11", &uri, "--cert-out", "again.crt", "--force"];
    let taken = run_with_pin(&env, &keygen).failure(2);
    assert!(taken.stderr.contains("profile \"prod\" is logged in with the key"), "{taken:?}");
    assert!(env.files_containing(TOKEN_PIN.as_bytes()).is_empty());
}

#[test]
fn the_environment_can_name_a_token_key() {
    let env = TestEnv::without_keychain();
    let uri = with_object(&env.softhsm_token("ci"), "ci");
    // keygen needs no keychain for a token key: it signs its certificate on the token.
    run_with_pin(&env, &["keygen", "-p", "ci", "--pkcs11", &uri]).success();
    let certificate = std::fs::read_to_string(env.path("ci.crt")).unwrap();
    env.stand_in.upload_certificate(CONSUMER_KEY, &certificate).unwrap();
    let run = Run::of(
        env.sfcred()
            .args(["token", "--format", "token"])
            .env("SFCRED_CLIENT_ID", CONSUMER_KEY)
            .env("SFCRED_USERNAME", USERNAME)
            .env("SFCRED_LOGIN_URL", env.stand_in.url())
            .env("SFCRED_PKCS11_URI", &uri)
            .env("SFCRED_PKCS11_PIN", TOKEN_PIN)
            .output_within(TIMEOUT)
            .unwrap(),
    )
    .success();
    assert!(run.stdout.starts_with("00DSTANDIN"), "{run:?}");
    let _ = app_keys();
}

fn spawn_token(env: &TestEnv) -> Child {
    env.sfcred()
        .args(["token", "-p", "prod", "--format", "token"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

#[test]
fn fifty_callers_on_a_cold_cache_cause_one_request() {
    let env = TestEnv::new();
    token_profile(&env, "prod");
    env.run(&["invalidate", "-p", "prod"]).success();
    let before = env.stand_in.token_requests();
    let callers: Vec<Child> = (0..50).map(|_| spawn_token(&env)).collect();
    let tokens: Vec<String> =
        callers.into_iter().map(|c| Run::of(c.output_within(TIMEOUT).unwrap()).success().stdout).collect();
    assert_eq!(env.stand_in.token_requests() - before, 1, "one request for 50 callers");
    assert!(tokens.iter().all(|t| t == &tokens[0]));
}

#[test]
fn a_token_key_rotates_on_its_token() {
    let env = TestEnv::new();
    let uri = token_profile(&env, "prod");
    run_with_pin(&env, &["rotate", "start", "-p", "prod"]).success();
    let objects = pkcs11_tool(&env, &["--list-objects", "--type", "privkey"]);
    let labelled = |objects: &str, label: &str| {
        objects.lines().any(|l| l.trim().strip_prefix("label:").is_some_and(|v| v.trim() == label))
    };
    assert!(labelled(&objects, "prod") && objects.contains("label:      sfcred-prod-"), "{objects}");
    // Spreading: the next key is tried on an invalid assertion, with the PIN login stored.
    let certificate = std::fs::read_to_string(env.path("prod.next.crt")).unwrap();
    env.stand_in.upload_certificate_spreading(CONSUMER_KEY, &certificate, 8).unwrap();
    let spread_from = env.stand_in.token_requests();
    let mut promoted = 0;
    // Refreshes until one starts after the spread (each request met either certificate at
    // random); by then the next key was accepted somewhere.
    for refresh in 0.. {
        let spread_over = env.stand_in.token_requests() >= spread_from + 8;
        assert!(refresh < 30, "the spread of 8 requests ended long ago");
        let run = env.run(&["token", "-p", "prod", "--refresh"]).success();
        promoted += run.stderr.matches("it is now the current key").count();
        if spread_over {
            break;
        }
    }
    assert_eq!(promoted, 1);
    let settings = std::fs::read_to_string(env.path("config/sfcred/config.toml")).unwrap();
    assert!(settings.contains("object=sfcred-prod-") && !settings.contains(TOKEN_PIN), "{settings}");
    let status = env.run(&["rotate", "status", "-p", "prod", "--json"]).success().json();
    let old = status[0]["keys"][1]["location"].as_str().unwrap();
    assert!(old.starts_with(uri.split('?').next().unwrap()), "the old key is the fallback: {status}");

    // Its grace over, the old key is removed from the token at the next mint.
    let path = env.path("config/sfcred/rotations/prod.json");
    let mut state: serde_json::Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    state["previous"]["until"] = 1.into();
    state["previous"]["promoted"] = serde_json::json!({"local": 1, "salesforce": 1});
    std::fs::write(&path, state.to_string()).unwrap();
    env.run(&["token", "-p", "prod", "--refresh"]).success();
    let objects = pkcs11_tool(&env, &["--list-objects", "--type", "privkey"]);
    assert!(!labelled(&objects, "prod"), "{objects}");
}
