//! The fault matrix: every way the network or the server can fail, through each way a
//! token is asked for. Each serves a still-valid cached token with a warning, or, once it
//! has expired, ends within its timeout with exit code 5; none touches the cache or
//! shows a secret.

use std::time::{SystemTime, UNIX_EPOCH};

use sfcred_stand_in::Behaviour;

use crate::support::{CONSUMER_KEY, Run, TestEnv, resetting_server};

#[derive(Debug, Clone, Copy)]
enum Fault {
    Status503,
    Html500,
    TruncatedJson,
    NoAccessToken,
    NeverAnswers,
    ConnectionReset,
    ConnectionRefused,
    UnresolvableHost,
}

const FAULTS: [Fault; 8] = [
    Fault::Status503,
    Fault::Html500,
    Fault::TruncatedJson,
    Fault::NoAccessToken,
    Fault::NeverAnswers,
    Fault::ConnectionReset,
    Fault::ConnectionRefused,
    Fault::UnresolvableHost,
];

/// A logged-in profile whose cached token is valid for 30 s more (under the 60 s
/// callers ask for, so every call tries to mint), with one-second timeouts.
fn set_up() -> TestEnv {
    let env = TestEnv::new();
    env.login("default").success();
    let mut entry = env.cache_entry("default");
    let now_ms = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_millis() as u64;
    entry["expires_at"] = (now_ms + 30_000).into();
    env.set_cache_entry("default", &entry);
    env.edit_settings(|text| {
        text.replace("connect_timeout = \"10s\"", "connect_timeout = \"1s\"")
            .replace("request_timeout = \"30s\"", "request_timeout = \"1s\"")
    });
    env
}

fn apply(env: &TestEnv, fault: Fault) {
    // Another server at the login URL: the cached token is bound to the URL, so it moves too.
    let point_at = |url: &str| {
        env.edit_settings(|text| text.replace(env.stand_in.url(), url));
        let mut entry = env.cache_entry("default");
        entry["login_url"] = url.into();
        env.set_cache_entry("default", &entry);
    };
    match fault {
        Fault::Status503 => env.stand_in.set_behaviour(Behaviour::MaintenancePage),
        Fault::Html500 => env.stand_in.set_behaviour(Behaviour::ServerErrorPage),
        Fault::TruncatedJson => env.stand_in.set_behaviour(Behaviour::TruncatedJson),
        Fault::NoAccessToken => env.stand_in.set_behaviour(Behaviour::NoAccessToken),
        Fault::NeverAnswers => env.stand_in.set_behaviour(Behaviour::Hang),
        Fault::ConnectionReset => point_at(&resetting_server()),
        Fault::ConnectionRefused => {
            let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            let url = format!("http://{}", closed.local_addr().unwrap());
            drop(closed);
            point_at(&url);
        }
        Fault::UnresolvableHost => point_at("https://sfcred-fault-test.invalid"),
    }
}

/// The three ways a token is asked for: `token`, the JSON protocol, git's helper. Each
/// meets the fault itself, not the failure the one before it remembered.
fn ask_every_interface(env: &TestEnv) -> Vec<(&'static str, Run)> {
    let forget = || {
        let _ = std::fs::remove_file(env.cache_file("default").with_extension("failure"));
    };
    let git_request = b"protocol=https\nhost=standin.my.salesforce.com\n\n";
    let mut runs = Vec::new();
    forget();
    runs.push(("token", env.run(&["token"])));
    forget();
    runs.push(("credential", env.run_with_stdin(&["credential"], b"{}")));
    forget();
    runs.push((
        "git-credential",
        env.run_with_stdin(&["git-credential", "get", "-p", "default"], git_request),
    ));
    runs
}

#[test]
fn every_fault_through_every_interface_fails_cleanly() {
    for fault in FAULTS {
        let env = set_up();
        let token = env.cache_entry("default")["access_token"].as_str().unwrap().to_owned();
        apply(&env, fault);
        let cached = std::fs::read(env.cache_file("default")).unwrap();

        // The cached token has 30 s left: through the outage it is served, with a warning.
        for (interface, run) in ask_every_interface(&env) {
            let context = format!("{fault:?} via {interface}, token still valid: {run:?}");
            assert_eq!(run.code, 0, "{context}");
            assert!(run.stdout.contains(&token), "{context}");
            assert!(run.stderr.contains("serving the cached token"), "{context}");
            assert!(
                !run.stderr.contains(&token) && !run.stderr.contains(CONSUMER_KEY),
                "secret shown: {context}"
            );
        }
        assert_eq!(std::fs::read(env.cache_file("default")).unwrap(), cached, "cache untouched");

        // Once it has expired, every interface fails with its class, and shows no secret.
        let mut entry = env.cache_entry("default");
        entry["expires_at"] = (entry["issued_at"].as_u64().unwrap() + 1).into();
        env.set_cache_entry("default", &entry);
        let expired = std::fs::read(env.cache_file("default")).unwrap();
        for (interface, run) in ask_every_interface(&env) {
            let context = format!("{fault:?} via {interface}: {run:?}");
            assert_eq!(run.code, 5, "{context}");
            assert!(run.stderr.contains("hint: "), "{context}");
            for secret in [token.as_str(), CONSUMER_KEY] {
                assert!(
                    !run.stdout.contains(secret) && !run.stderr.contains(secret),
                    "secret shown: {context}"
                );
            }
            if interface == "credential" {
                assert_eq!(run.json()["error"]["kind"], "unavailable", "{context}");
            } else {
                assert_eq!(run.stdout, "", "{context}");
            }
            assert_eq!(
                std::fs::read(env.cache_file("default")).unwrap(),
                expired,
                "cache untouched: {context}"
            );
        }
    }
}

#[test]
fn a_passing_503_is_retried_and_a_refusal_is_not() {
    let env = TestEnv::new();
    env.login("default").success();
    env.stand_in.queue_behaviours(&[Behaviour::MaintenancePage, Behaviour::ServerErrorPage]);
    let run = env.run(&["token", "--refresh", "-v"]).success();
    assert_eq!(env.stand_in.token_requests(), 4, "two failures, then a token: {run:?}");
    assert!(run.stderr.contains("retrying in"), "{run:?}");

    let args = env.login_args_with("wrong", &[("--client-id", "3MVG9WRONG")]);
    let before = env.stand_in.token_requests();
    env.run(&args).failure(4);
    assert_eq!(env.stand_in.token_requests() - before, 1, "4xx is final");
}
