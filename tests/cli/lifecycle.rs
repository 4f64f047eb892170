//! A key's and a token's life: revocation at logout, rotation without an outage.

use std::process::{Child, Stdio};

use crate::support::{CONSUMER_KEY, Run, TIMEOUT, TestEnv, WaitWithin};

fn cached_token(env: &TestEnv, profile: &str) -> String {
    env.cache_entry(profile)["access_token"].as_str().unwrap().to_owned()
}

#[test]
fn logout_revokes_the_cached_token() {
    let env = TestEnv::new();
    env.login("prod").success();
    let token = cached_token(&env, "prod");
    assert_eq!(env.stand_in.rest_status(&token), 200);
    env.run(&["logout", "-p", "prod"]).success();
    assert_eq!(env.stand_in.rest_status(&token), 401, "the token was revoked, not just forgotten");
    assert_eq!(env.stand_in.revocations(), 1);
}

#[test]
fn no_revoke_leaves_the_token_alive_and_invalidate_revoke_kills_it() {
    let env = TestEnv::new();
    env.login("a").success();
    let token = cached_token(&env, "a");
    env.run(&["logout", "-p", "a", "--no-revoke"]).success();
    assert_eq!(env.stand_in.rest_status(&token), 200);
    assert_eq!(env.stand_in.revocations(), 0);

    env.login("b").success();
    let token = cached_token(&env, "b");
    env.run(&["invalidate", "-p", "b", "--revoke"]).success();
    assert_eq!(env.stand_in.rest_status(&token), 401);
    assert!(!env.cache_file("b").exists());
    // A token Salesforce no longer knows is as good as revoked: no warning.
    env.run(&["token", "-p", "b"]).success();
    let mut entry = env.cache_entry("b");
    entry["access_token"] = "00DSTANDIN000001!ARunknown".into();
    env.set_cache_entry("b", &entry);
    let run = env.run(&["invalidate", "-p", "b", "--revoke"]).success();
    assert_eq!(run.stderr, "", "{run:?}");
    assert_eq!(env.stand_in.revocations(), 2);
}

#[test]
fn a_token_minted_before_the_login_url_changed_is_revoked_where_it_was_minted() {
    let env = TestEnv::new();
    env.login("prod").success();
    let token = cached_token(&env, "prod");
    env.edit_settings(|text| text.replace(env.stand_in.url(), "https://acme.my.salesforce.com"));
    let run = env.run(&["profiles"]).success();
    assert!(!run.stdout.contains("valid until"), "not the profile's token any more: {run:?}");
    env.run(&["logout", "-p", "prod"]).success();
    assert_eq!(env.stand_in.revocations(), 1);
    assert_eq!(env.stand_in.rest_status(&token), 401, "revoked at the stand-in, where it was minted");
}

#[test]
fn a_failed_revocation_warns_and_logs_out_all_the_same() {
    let env = TestEnv::new();
    env.login("prod").success();
    let token = cached_token(&env, "prod");
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", closed.local_addr().unwrap());
    drop(closed);
    // The login host, where the token was minted, stops answering.
    env.edit_settings(|text| text.replace(env.stand_in.url(), &url));
    let mut entry = env.cache_entry("prod");
    entry["login_url"] = url.clone().into();
    env.set_cache_entry("prod", &entry);
    let run = env.run(&["logout", "-p", "prod"]).success();
    assert!(run.stderr.contains("could not revoke") && run.stderr.contains("logged out"), "{run:?}");
    assert!(!run.stderr.contains(&token), "{run:?}");
    assert!(!env.cache_file("prod").exists());
    env.run(&["token", "-p", "prod"]).failure(3);
}

fn spawn_token(env: &TestEnv) -> Child {
    env.sfcred()
        .args(["token", "-p", "prod", "--format", "token"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

fn rotation_state(env: &TestEnv) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(env.path("config/sfcred/rotations/prod.json")).unwrap()).unwrap()
}

#[test]
fn a_key_is_replaced_on_a_live_profile_with_no_failed_call() {
    let env = TestEnv::new();
    env.login("prod").success();
    let run = env.run(&["rotate", "start", "-p", "prod"]).success();
    assert!(run.stderr.contains("Upload") && run.stderr.contains("prod.next.crt"), "{run:?}");
    assert!(env.secret_service_lookup("prod/next-private-key").is_some());
    let status = env.run(&["rotate", "status", "-p", "prod", "--json"]).success().json();
    assert_eq!(status[0]["keys"][1]["key"], "next", "{status}");
    // Before the upload the current key keeps serving.
    env.run(&["token", "-p", "prod", "--refresh"]).success();

    // The upload spreads through Salesforce: for 12 requests, servers disagree.
    let certificate = std::fs::read_to_string(env.path("prod.next.crt")).unwrap();
    env.stand_in.upload_certificate_spreading(CONSUMER_KEY, &certificate, 12).unwrap();
    let spread_from = env.stand_in.token_requests();
    let mut promotions = 0;
    // Rounds until one starts after the spread: each request met either certificate at
    // random, and once every server has the new one the old key is refused everywhere.
    for round in 0.. {
        let spread_over = env.stand_in.token_requests() >= spread_from + 12;
        assert!(round < 40, "the spread of 12 requests ended long ago");
        env.run(&["invalidate", "-p", "prod"]).success();
        let callers: Vec<Child> = (0..50).map(|_| spawn_token(&env)).collect();
        for caller in callers {
            let run = Run::of(caller.output_within(TIMEOUT).unwrap());
            assert_eq!(run.code, 0, "round {round}: {run:?}");
            promotions += run.stderr.matches("accepted profile \"prod\"'s new key").count();
        }
        if spread_over {
            break;
        }
    }
    assert_eq!(promotions, 1, "one promotion, said once");
    assert!(env.secret_service_lookup("prod/next-private-key").is_none());
    assert!(env.secret_service_lookup("prod/previous-private-key").is_some(), "the old key is a fallback");
    let status = env.run(&["rotate", "status", "-p", "prod"]).success().stdout;
    assert!(
        status.contains("rotated") && status.contains("Salesforce last accepted the current key"),
        "{status}"
    );
    let doctor = env.run(&["doctor", "-p", "prod", "--offline", "--json"]).success().json();
    assert!(doctor.to_string().contains("the old key stays a fallback until"), "{doctor}");

    // The grace period ends: by Salesforce's clock and ours, the promotion was long ago.
    let mut state = rotation_state(&env);
    state["previous"]["until"] = 1.into();
    state["previous"]["promoted"] = serde_json::json!({"local": 1, "salesforce": 1});
    std::fs::write(env.path("config/sfcred/rotations/prod.json"), state.to_string()).unwrap();
    env.run(&["token", "-p", "prod", "--refresh"]).success();
    assert!(
        env.secret_service_lookup("prod/previous-private-key").is_none(),
        "deleted at the first mint after"
    );
    assert!(!env.path("config/sfcred/certificates/prod.previous.pem").exists());
    assert!(!env.path("config/sfcred/rotations/prod.json").exists(), "nothing left to remember");
}

#[test]
fn finish_promotes_only_what_salesforce_accepts_and_abort_drops_the_next_key() {
    let env = TestEnv::new();
    env.login("prod").success();
    env.run(&["rotate", "start", "-p", "prod"]).success();
    env.run(&["rotate", "start", "-p", "prod", "--cert-out", "again.crt"]).failure(2);
    let run = env.run(&["rotate", "finish", "-p", "prod"]).failure(4);
    assert!(
        run.stderr.contains("not accepted yet") && run.stderr.contains("upload the next certificate"),
        "{run:?}"
    );
    let doctor = env.run(&["doctor", "-p", "prod", "--offline", "--json"]).success().json();
    assert!(doctor.to_string().contains("Salesforce has not accepted the next key yet"), "{doctor}");

    let certificate = std::fs::read_to_string(env.path("prod.next.crt")).unwrap();
    env.stand_in.upload_certificate(CONSUMER_KEY, &certificate).unwrap();
    let run = env.run(&["rotate", "finish", "-p", "prod"]).success();
    assert!(run.stderr.contains("it is now the current key"), "{run:?}");
    let before = env.stand_in.token_requests();
    env.run(&["token", "-p", "prod", "--refresh"]).success();
    assert_eq!(env.stand_in.token_requests() - before, 1, "the new key signs at the first try");
    let current = std::fs::read_to_string(env.path("config/sfcred/certificates/prod.pem")).unwrap();
    assert_eq!(current, certificate, "the new certificate is the profile's");

    env.run(&["rotate", "start", "-p", "prod", "--cert-out", "third.crt"]).success();
    let abort = Run::of(
        env.sfcred().args(["rotate", "abort", "-p", "prod"]).current_dir("/").output_within(TIMEOUT).unwrap(),
    );
    assert!(abort.success().stderr.contains("third.crt, the next key's certificate"));
    assert!(!env.path("third.crt").exists(), "the abort took back the certificate it wrote");
    assert!(env.secret_service_lookup("prod/next-private-key").is_none());
    env.run(&["rotate", "abort", "-p", "prod"]).failure(2);
    // A file the user put in its place is theirs.
    env.run(&["rotate", "start", "-p", "prod", "--cert-out", "fourth.crt"]).success();
    std::fs::copy(env.path("prod.next.crt"), env.path("fourth.crt")).unwrap();
    env.run(&["rotate", "abort", "-p", "prod"]).success();
    assert!(env.path("fourth.crt").exists());
    env.run(&["token", "-p", "prod", "--refresh"]).success();
}

#[test]
fn keygen_refuses_to_replace_a_live_key_even_with_force() {
    let env = TestEnv::new();
    env.login("prod").success();
    let run = env.run(&["keygen", "-p", "prod", "--force", "--cert-out", "x.crt"]).failure(2);
    assert!(run.stderr.contains("sfcred rotate start --profile prod"), "{run:?}");
    assert!(!env.path("x.crt").exists());
    env.run(&["token", "-p", "prod", "--refresh"]).success();
}

#[test]
fn concurrent_logins_lose_no_profile() {
    let env = TestEnv::new();
    // Every argument list first: each writes the key file the logins read.
    let args: Vec<Vec<String>> =
        (0..10).map(|i| [env.login_args(&format!("p{i}")), vec!["--no-verify".into()]].concat()).collect();
    let logins: Vec<Child> = args
        .iter()
        .map(|args| env.sfcred().args(args).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap())
        .collect();
    for login in logins {
        Run::of(login.output_within(TIMEOUT).unwrap()).success();
    }
    let profiles = env.run(&["profiles", "--json"]).success().json();
    assert_eq!(
        profiles.as_array().unwrap().len(),
        10,
        "every login's profile is in the settings: {profiles}"
    );
}
