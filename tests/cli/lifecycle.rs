//! A key's and a token's life: revocation at logout, rotation without an outage.

use crate::support::TestEnv;

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
fn a_failed_revocation_warns_and_logs_out_all_the_same() {
    let env = TestEnv::new();
    env.login("prod").success();
    let token = cached_token(&env, "prod");
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", closed.local_addr().unwrap());
    drop(closed);
    env.edit_settings(|text| text.replace(env.stand_in.url(), &url));
    let run = env.run(&["logout", "-p", "prod"]).success();
    assert!(run.stderr.contains("could not revoke") && run.stderr.contains("logged out"), "{run:?}");
    assert!(!run.stderr.contains(&token), "{run:?}");
    assert!(!env.cache_file("prod").exists());
    env.run(&["token", "-p", "prod"]).failure(3);
}
