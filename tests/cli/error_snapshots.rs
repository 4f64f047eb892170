//! The whole of what a person reads on stderr, for one error of each exit class (docs/reference.md's
//! table): 1 other, 2 usage, 3 not logged in, 4 rejected, 5 unavailable, 6 keychain.

use crate::support::{Run, TIMEOUT, TestEnv, WaitWithin};

/// stderr with what changes from run to run (the temporary home, loopback ports) named.
fn stable(env: &TestEnv, run: &Run, urls: &[(&str, &str)]) -> String {
    let mut text = run.stderr.replace(env.home.path().to_str().unwrap(), "[HOME]");
    for (url, name) in urls {
        text = text.replace(url, name);
    }
    text.replace(env.stand_in.url(), "[STAND_IN]")
}

#[test]
fn other_an_unsafe_cache_directory() {
    let env = TestEnv::new();
    env.login("prod").success();
    let elsewhere = env.path("elsewhere");
    std::fs::create_dir(&elsewhere).unwrap();
    let link = env.path("linked-cache");
    std::os::unix::fs::symlink(&elsewhere, &link).unwrap();
    let out = env
        .sfcred()
        .args(["token", "-p", "prod"])
        .env("SFCRED_CACHE_DIR", &link)
        .output_within(TIMEOUT)
        .unwrap();
    let run = Run::of(out);
    assert_eq!(run.code, 1, "{run:?}");
    insta::assert_snapshot!(stable(&env, &run, &[]), @r#"
    sfcred: error: the cache directory [HOME]/linked-cache is unsafe: it is a symbolic link
      hint: sfcred keeps tokens only in a directory that is yours alone (mode 0700, not a symlink): remove [HOME]/linked-cache and let sfcred create it, or set SFCRED_CACHE_DIR
    "#);
}

#[test]
fn usage_a_duration_that_is_not_one() {
    let env = TestEnv::new();
    let run = env.login_with("prod", &[("--ttl", "soon")]);
    assert_eq!(run.code, 2, "{run:?}");
    insta::assert_snapshot!(stable(&env, &run, &[]), @r#"
    sfcred: error: invalid --ttl "soon": it does not start with a number
      hint: give --ttl a number and a unit, like 5m, 30m or 2h (3m to 24h)
    "#);
    let run = env.login_with("prod", &[("--ttl", "0s")]);
    insta::assert_snapshot!(stable(&env, &run, &[]), @r#"
    sfcred: error: invalid --ttl "0s": a token must be trusted for 3m at least: sfcred hands out tokens with 60s left at least (--min-valid), and mints again before that
      hint: give --ttl a number and a unit, like 5m, 30m or 2h (3m to 24h)
    "#);
    let run = env.login_with("prod", &[("--login-url", "127.0.0.1:39525")]);
    insta::assert_snapshot!(stable(&env, &run, &[]), @r#"
    sfcred: error: invalid login URL "127.0.0.1:39525": it has no scheme: write https:// before the host
      hint: give the whole URL, https:// included: https://login.salesforce.com (production), https://test.salesforce.com (a sandbox, or --sandbox) or https://MYDOMAIN.my.salesforce.com; plain http is only for 127.0.0.1 and localhost
    "#);
    env.login("prod").success();
    let run = env.run(&["token", "-p", "prod", "--min-valid", "10"]);
    insta::assert_snapshot!(stable(&env, &run, &[]), @r#"
    sfcred: error: invalid --min-valid "10": it has no unit
      hint: give --min-valid a number and a unit, like 90s, 30m or 2h (24h at most)
    "#);
}

/// `sfcred` alone shows its help, as clap writes it: not an error message.
#[test]
fn usage_no_subcommand_shows_the_help() {
    let env = TestEnv::new();
    let run = env.run(&[] as &[&str]);
    assert_eq!(run.code, 2, "{run:?}");
    assert!(run.stderr.starts_with("Salesforce access tokens on demand"), "{run:?}");
    assert!(run.stderr.contains("Usage: sfcred [OPTIONS] <COMMAND>"), "{run:?}");
}

#[test]
fn not_logged_in_an_unknown_profile() {
    let env = TestEnv::new();
    let run = env.run(&["token", "-p", "nope"]);
    assert_eq!(run.code, 3, "{run:?}");
    insta::assert_snapshot!(stable(&env, &run, &[]), @r#"
    sfcred: error: no profile named "nope"
      hint: log in first: sfcred login --profile nope
    "#);
}

#[test]
fn rejected_a_wrong_consumer_key() {
    let env = TestEnv::new();
    let run = env.login_with("prod", &[("--client-id", "3MVG9WRONG")]);
    assert_eq!(run.code, 4, "{run:?}");
    insta::assert_snapshot!(stable(&env, &run, &[]), @r#"
    sfcred: error: Salesforce refused the token request: invalid_client_id: client identifier invalid
      hint: check the consumer key, and production vs sandbox (the app must live in the org you log in to); a new connected app or External Client App takes 2 to 10 minutes to be usable
    "#);
}

#[test]
fn unavailable_a_closed_port() {
    let env = TestEnv::new();
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", closed.local_addr().unwrap());
    drop(closed);
    let run = env.login_with("prod", &[("--login-url", &url)]);
    assert_eq!(run.code, 5, "{run:?}");
    insta::assert_snapshot!(stable(&env, &run, &[(&url, "[CLOSED_PORT]")]), @r#"
    sfcred: error: cannot reach [CLOSED_PORT]/services/oauth2/token: Connection refused (os error 111)
      hint: check the login URL and your network; proxies come from HTTPS_PROXY and NO_PROXY
    "#);
}

#[test]
fn keychain_no_secret_service() {
    let env = TestEnv::without_keychain();
    let run = env.login("prod");
    assert_eq!(run.code, 6, "{run:?}");
    insta::assert_snapshot!(stable(&env, &run, &[]), @r#"
    sfcred: error: the secret-service keychain is unavailable: Platform failure: zbus error: Failed to connect to address `unix:path=[HOME]/run/no-bus`: No such file or directory (os error 2)
      hint: start a Secret Service (GNOME Keyring or KWallet) in your D-Bus session; or use the kernel keyring, which needs no daemon but forgets keys at reboot: sfcred login --store keyutils; or, in CI and containers, give the profile in SFCRED_CLIENT_ID, SFCRED_USERNAME and SFCRED_PRIVATE_KEY (see docs/ci.md)
    "#);
}
