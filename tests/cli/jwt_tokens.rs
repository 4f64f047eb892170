//! JWT-based access tokens (issue 20): a token that carries its `exp` is trusted exactly
//! that long, whatever the profile's ttl, and every output says so.

use std::time::{Duration, UNIX_EPOCH};

use crate::support::TestEnv;

fn seconds(rfc3339: &serde_json::Value) -> u64 {
    let text = rfc3339.as_str().expect("a time");
    humantime::parse_rfc3339(text).unwrap().duration_since(UNIX_EPOCH).unwrap().as_secs()
}

fn lifetime(token: &serde_json::Value) -> u64 {
    seconds(&token["expires_at"]) - seconds(&token["issued_at"])
}

/// Makes the cached token of `profile` as old as if `age` had passed since its mint.
fn age(env: &TestEnv, profile: &str, age: Duration) {
    let mut entry = env.cache_entry(profile);
    for field in ["issued_at", "expires_at"] {
        entry[field] = (entry[field].as_u64().unwrap() - age.as_millis() as u64).into();
    }
    env.set_cache_entry(profile, &entry);
}

#[test]
fn a_short_lived_jwt_token_is_trusted_until_its_exp_not_the_ttl() {
    let env = TestEnv::new();
    env.stand_in.issue_jwt_tokens(Duration::from_secs(600));
    env.login("prod").success(); // the profile's ttl is 30m
    let token = env.run(&["token", "-p", "prod"]).success().json();
    assert_eq!(token["token_format"], "jwt", "{token}");
    assert_eq!(token["expiry"], "token", "{token}");
    assert_eq!(token["api_instance_url"], "https://standin.my.salesforce.com/", "{token}");
    assert_eq!(lifetime(&token), 600, "its exp, whatever the server's clock: {token}");
    assert!(token["access_token"].as_str().unwrap().starts_with("eyJ"), "{token}");

    // 9 minutes on, 60s are left: the default --min-valid still takes it ...
    age(&env, "prod", Duration::from_secs(530));
    env.run(&["token", "-p", "prod"]).success();
    assert_eq!(env.stand_in.token_requests(), 1);
    // ... and a moment later it is spent: a new one is minted, though the ttl has 20 minutes.
    age(&env, "prod", Duration::from_secs(20));
    env.run(&["token", "-p", "prod"]).success();
    assert_eq!(env.stand_in.token_requests(), 2);

    // No token of this app lives 11 minutes: said with the fix, and no login is spent on it
    // however often it is asked, while the cached token lives.
    for _ in 0..3 {
        let run = env.run(&["token", "-p", "prod", "--min-valid", "11m"]).failure(2);
        assert!(run.stderr.contains("token lifetime (10m)"), "{run:?}");
        assert!(run.stderr.contains("--jwt-timeout 15m, deploy it, then sfcred token --refresh"), "{run:?}");
    }
    assert_eq!(env.stand_in.token_requests(), 2, "no mint that could not serve");
    // A spent token says nothing of the app as it is now (its timeout may have been raised):
    // one mint asks, and its token answers the calls after it.
    age(&env, "prod", Duration::from_secs(900));
    for _ in 0..3 {
        env.run(&["token", "-p", "prod", "--min-valid", "11m"]).failure(2);
    }
    assert_eq!(env.stand_in.token_requests(), 3, "one mint, after the token was spent");
}

/// With nothing cached, sfcred cannot know how long the app's tokens live: it mints once,
/// and the token it caches tells every later call without another mint.
#[test]
fn an_empty_cache_learns_the_lifetime_from_one_mint() {
    let env = TestEnv::new();
    env.stand_in.issue_jwt_tokens(Duration::from_secs(600));
    env.login("prod").success();
    env.run(&["invalidate", "-p", "prod"]).success();
    for _ in 0..3 {
        let run = env.run(&["token", "-p", "prod", "--min-valid", "11m"]).failure(2);
        assert!(run.stderr.contains("token lifetime (10m)"), "{run:?}");
    }
    assert_eq!(env.stand_in.token_requests(), 2, "login's, and the one that told");
    let run = env.run(&["token", "-p", "prod", "--min-valid", "9m"]).success();
    assert_eq!(env.stand_in.token_requests(), 2, "the told one serves what it can: {run:?}");
}

/// A JWT-based token whose exp is not after its issue says nothing true of its lifetime:
/// it is trusted for the ttl, with a warning, instead of being minted again on every call.
#[test]
fn a_jwt_token_that_expires_as_it_is_issued_gets_the_ttl() {
    let env = TestEnv::new();
    env.stand_in.issue_jwt_tokens(Duration::ZERO);
    env.login("prod").success();
    let run = env.run(&["token", "-p", "prod", "--refresh"]).success();
    assert!(
        run.stderr.contains("whose exp is not after its issue; trusting it for the profile's ttl (30m)"),
        "{run:?}"
    );
    let token = run.json();
    assert_eq!((token["expiry"].as_str(), lifetime(&token)), (Some("estimated"), 1800), "{token}");
    env.run(&["token", "-p", "prod"]).success();
    assert_eq!(env.stand_in.token_requests(), 2, "login's and the refresh: the cache serves");
}

#[test]
fn a_long_lived_jwt_token_outlives_the_ttl_in_every_output() {
    let env = TestEnv::new();
    env.stand_in.issue_jwt_tokens(Duration::from_secs(2 * 3600));
    env.login("prod").success();
    // An hour's worth is asked for: an opaque token of a 30m ttl could never give it.
    let token = env.run(&["token", "-p", "prod", "--min-valid", "1h"]).success().json();
    assert_eq!(lifetime(&token), 7200, "{token}");
    assert_eq!(env.stand_in.token_requests(), 1, "login's token is served");
    let expires_at = seconds(&token["expires_at"]);

    let exec = env.run(&["token", "-p", "prod", "--format", "exec-credential"]).success().json();
    assert_eq!(seconds(&exec["status"]["expirationTimestamp"]), expires_at, "{exec}");
    let git = env.run_with_stdin(
        &["git-credential", "-p", "prod", "get"],
        b"protocol=https\nhost=standin.my.salesforce.com\n\n",
    );
    let git = git.success();
    let expiry_line = git.stdout.lines().find_map(|l| l.strip_prefix("password_expiry_utc=")).unwrap();
    assert_eq!(expiry_line.parse::<u64>().unwrap(), expires_at, "{git:?}");
    let profiles = env.run(&["profiles", "--json"]).success().json();
    assert_eq!(seconds(&profiles[0]["token_valid_until"]), expires_at, "{profiles}");
}

#[test]
fn an_opaque_token_is_still_trusted_for_the_ttl() {
    let env = TestEnv::new();
    env.login("prod").success();
    let token = env.run(&["token", "-p", "prod"]).success().json();
    assert_eq!(token["expiry"], "estimated", "{token}");
    assert!(token.get("token_format").is_none() && token.get("api_instance_url").is_none(), "{token}");
    assert_eq!(lifetime(&token), 1800);
    let run = env.run(&["token", "-p", "prod", "--min-valid", "1h"]).failure(2);
    assert!(run.stderr.contains("--ttl 2h"), "{run:?}");
    // The cache entry holds the kind, so a hit needs no token parsing.
    assert_eq!(env.cache_entry("prod")["expiry"], "estimated");
}

/// The file that counts the stand-in user's logins, found in the cache directory.
fn logins_file(env: &TestEnv) -> std::path::PathBuf {
    let dir = env.cache_file("prod").parent().unwrap().to_owned();
    let mut found = std::fs::read_dir(&dir)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.file_name().unwrap().to_str().unwrap().starts_with("logins-"))
        .filter(|path| path.extension().is_some_and(|e| e == "json"));
    found.next().expect("a logins file")
}

#[test]
fn mints_are_counted_per_user_and_warned_of_before_salesforce_refuses() {
    let env = TestEnv::new();
    env.login("prod").success();
    env.login("second-profile-same-user").success();
    let verbose = env.run(&["-v", "token", "-p", "prod", "--refresh"]).success();
    assert!(verbose.stderr.contains("logins this hour for ops@acme.test at "), "{verbose:?}");
    assert!(verbose.stderr.contains(": 3 of 3600"), "two logins and this refresh: {verbose:?}");
    let doctor = env.run(&["doctor", "-p", "prod", "--offline", "--json"]).success().json();
    let budget = doctor.as_array().unwrap().iter().find(|c| c["name"] == "login budget").unwrap().clone();
    assert_eq!(budget["status"], "ok", "{doctor}");
    assert!(budget["detail"].as_str().unwrap().starts_with("3 of the 3600 logins"), "{budget}");
    let file = logins_file(&env);
    let text = std::fs::read_to_string(&file).unwrap();
    assert!(!text.contains("ops@acme.test"), "the username is not written down: {text}");
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(std::fs::metadata(&file).unwrap().permissions().mode() & 0o777, 0o600);

    // 2,880 logins this minute (80 %): the next mint warns.
    let minute = std::time::SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs() / 60;
    std::fs::write(&file, format!(r#"{{"v":1,"minutes":[[{minute},2880]]}}"#)).unwrap();
    let warned = env.run(&["token", "-p", "prod", "--refresh"]).success();
    assert!(warned.stderr.contains("sfcred: warning: 2881 logins this hour for ops@acme.test"), "{warned:?}");
    assert!(warned.stderr.contains("LOGIN_RATE_EXCEEDED"), "{warned:?}");
    let doctor = env.run(&["doctor", "-p", "prod", "--offline", "--json"]).success().json();
    let budget = doctor.as_array().unwrap().iter().find(|c| c["name"] == "login budget").unwrap().clone();
    assert_eq!(budget["status"], "warn", "{doctor}");
}
