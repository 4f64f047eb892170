//! The token cache: hits, expiry and --min-valid, one refresh for many callers, a
//! killed lock holder, and cache files that cannot be trusted.

use std::process::{Child, Stdio};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use sfcred_stand_in::Behaviour;

use crate::support::{Run, TIMEOUT, TestEnv, WaitWithin};

fn now_ms() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_millis() as u64
}

/// Makes the cached token of `profile` expire `secs` from now.
fn expire_in(env: &TestEnv, profile: &str, secs: u64) {
    let mut entry = env.cache_entry(profile);
    entry["expires_at"] = (now_ms() + secs * 1000).into();
    env.set_cache_entry(profile, &entry);
}

fn token_of(run: &Run) -> String {
    run.json()["access_token"].as_str().unwrap().to_owned()
}

#[test]
fn a_cached_token_is_served_without_a_request() {
    let env = TestEnv::new();
    env.login("prod").success();
    assert_eq!(env.stand_in.token_requests(), 1);
    let first = token_of(&env.run(&["token", "-p", "prod"]).success());
    let second = token_of(&env.run(&["token", "-p", "prod"]).success());
    assert_eq!(first, second);
    assert_eq!(env.stand_in.token_requests(), 1, "login's check is cached and reused");

    use std::os::unix::fs::PermissionsExt;
    let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&env.cache_file("prod")), 0o600);
    assert_eq!(mode(env.cache_file("prod").parent().unwrap()), 0o700);
}

#[test]
fn min_valid_decides_between_the_cache_and_a_new_token() {
    let env = TestEnv::new();
    env.login("prod").success();
    let cached = token_of(&env.run(&["token", "-p", "prod"]).success());
    expire_in(&env, "prod", 30);

    let run = env.run(&["token", "-p", "prod", "--min-valid", "10s"]).success();
    assert_eq!(token_of(&run), cached, "valid for 30s, asked for 10s");
    assert_eq!(env.stand_in.token_requests(), 1);

    let fresh = token_of(&env.run(&["token", "-p", "prod"]).success());
    assert_ne!(fresh, cached, "30s left is under the default 60s");
    assert_eq!(env.stand_in.token_requests(), 2);
    let left = env.cache_entry("prod")["expires_at"].as_u64().unwrap() - now_ms();
    assert!(left > 29 * 60 * 1000, "the new token is cached for the profile's ttl");
}

#[test]
fn refresh_and_invalidate_mint_anew() {
    let env = TestEnv::new();
    env.login("prod").success();
    let cached = token_of(&env.run(&["token", "-p", "prod"]).success());
    let refreshed = token_of(&env.run(&["token", "-p", "prod", "--refresh"]).success());
    assert_ne!(refreshed, cached);
    assert_eq!(env.stand_in.token_requests(), 2);

    env.run(&["invalidate", "-p", "prod"]).success();
    assert!(!env.cache_file("prod").exists());
    env.run(&["token", "-p", "prod"]).success();
    assert_eq!(env.stand_in.token_requests(), 3);
}

#[test]
fn min_valid_beyond_the_ttl_is_a_usage_error() {
    let env = TestEnv::new();
    env.login("prod").success();
    let run = env.run(&["token", "-p", "prod", "--min-valid", "1h"]).failure(2);
    assert!(run.stderr.contains("not shorter than profile \"prod\"'s token lifetime (30m)"), "{run:?}");
    assert!(run.stderr.contains("--ttl 2h"), "a ttl that would serve: {run:?}");
    // Without a cache nothing is learnt from a mint: the ttl says it, and no login is spent.
    env.login_with("nocache", &[("--cache", "none")]).success();
    let before = env.stand_in.token_requests();
    for asked in ["1h", "--refresh"] {
        let args = match asked {
            "--refresh" => vec!["token", "-p", "nocache", "--min-valid", "30m", "--refresh"],
            _ => vec!["token", "-p", "nocache", "--min-valid", asked],
        };
        env.run(&args).failure(2);
    }
    assert_eq!(env.stand_in.token_requests(), before, "no login spent on what no token can give");
}

fn spawn_token(env: &TestEnv, profile: &str) -> Child {
    env.sfcred()
        .args(["token", "-p", profile, "--format", "token"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

#[test]
fn many_callers_on_a_cold_cache_cause_one_request() {
    let env = TestEnv::new();
    env.login("prod").success();
    env.run(&["invalidate", "-p", "prod"]).success();
    let before = env.stand_in.token_requests();

    let callers: Vec<Child> = (0..32).map(|_| spawn_token(&env, "prod")).collect();
    let tokens: Vec<String> =
        callers.into_iter().map(|c| Run::of(c.output_within(TIMEOUT).unwrap()).success().stdout).collect();

    assert_eq!(env.stand_in.token_requests() - before, 1, "one request for 32 callers");
    assert!(tokens.iter().all(|t| t == &tokens[0]), "everyone got the same token");
}

#[test]
fn profiles_do_not_wait_for_each_other() {
    let env = TestEnv::new();
    env.login("slow").success();
    env.login("fast").success();
    env.run(&["invalidate", "-p", "slow"]).success();
    env.run(&["invalidate", "-p", "fast"]).success();
    env.stand_in.set_behaviour(Behaviour::Hang);
    let mut stuck = spawn_token(&env, "slow");
    env.stand_in.wait_for_token_requests(3, TIMEOUT);

    env.stand_in.set_behaviour(Behaviour::Salesforce);
    env.run(&["token", "-p", "fast"]).success();
    assert_eq!(stuck.try_wait().unwrap(), None, "the slow profile's refresh is still hanging");
    stuck.kill().unwrap();
    stuck.wait_within(TIMEOUT).unwrap();
}

#[test]
fn a_killed_lock_holder_does_not_block_the_others() {
    let env = TestEnv::new();
    env.login("prod").success();
    env.run(&["invalidate", "-p", "prod"]).success();
    env.stand_in.set_behaviour(Behaviour::Hang);
    let mut holder = spawn_token(&env, "prod");
    env.stand_in.wait_for_token_requests(2, TIMEOUT); // the holder is inside its refresh
    let waiter = spawn_token(&env, "prod");

    env.stand_in.set_behaviour(Behaviour::Salesforce);
    holder.kill().unwrap(); // SIGKILL: no chance to clean up
    holder.wait_within(TIMEOUT).unwrap();
    let run = Run::of(waiter.output_within(TIMEOUT).unwrap()).success();
    assert!(run.stdout.starts_with("00DSTANDIN"), "{run:?}");
    assert_eq!(env.stand_in.token_requests(), 3);
}

#[test]
fn a_stuck_refresh_bounds_the_wait_of_the_others() {
    let env = TestEnv::new();
    env.login("prod").success();
    env.run(&["invalidate", "-p", "prod"]).success();
    env.stand_in.set_behaviour(Behaviour::Hang);
    let mut holder = spawn_token(&env, "prod");
    env.stand_in.wait_for_token_requests(2, TIMEOUT);

    let out = env
        .sfcred()
        .args(["token", "-p", "prod"])
        .env("SFCRED_LOCK_TIMEOUT", "1s")
        .output_within(TIMEOUT)
        .unwrap();
    let run = Run::of(out).failure(5);
    assert!(run.stderr.contains("has been refreshing profile \"prod\" for over 1s"), "{run:?}");
    holder.kill().unwrap();
    holder.wait_within(TIMEOUT).unwrap();
}

#[test]
fn damaged_cache_files_are_misses_and_get_replaced() {
    let env = TestEnv::new();
    env.login("prod").success();
    let good = std::fs::read_to_string(env.cache_file("prod")).unwrap();
    let damaged = [
        String::new(),
        "{\"v\":2,".to_owned(),
        good[..good.len() / 2].to_owned(),
        good.replace("\"v\":2", "\"v\":99"),
        good.replace("\"v\":2", "\"v\":1"),
        "\u{0}\u{1}binary".to_owned(),
    ];
    for (i, text) in damaged.iter().enumerate() {
        std::fs::write(env.cache_file("prod"), text).unwrap();
        let run = env.run(&["token", "-p", "prod"]).success();
        assert!(run.stderr.contains("ignoring the cached token"), "{i}: {run:?}");
        assert_eq!(env.stand_in.token_requests(), 2 + i, "{i}: a miss mints");
        let replaced = env.cache_entry("prod");
        assert_eq!(replaced["access_token"], run.json()["access_token"], "{i}: replaced");
    }
}

#[test]
fn a_cache_file_others_can_read_is_refused() {
    use std::os::unix::fs::PermissionsExt;
    let env = TestEnv::new();
    env.login("prod").success();
    let path = env.cache_file("prod");
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
    let run = env.run(&["token", "-p", "prod"]).success();
    assert!(run.stderr.contains("others may use it (mode 0644)"), "{run:?}");
    assert_eq!(env.stand_in.token_requests(), 2);
    assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600, "replaced");
}

#[test]
fn a_symlinked_cache_directory_is_refused() {
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
    let run = Run::of(out).failure(1);
    assert!(run.stderr.contains("is unsafe: it is a symbolic link"), "{run:?}");
    assert_eq!(std::fs::read_dir(&elsewhere).unwrap().count(), 0, "nothing written through the link");
}

#[test]
fn a_failed_mint_keeps_the_still_valid_token() {
    let env = TestEnv::new();
    env.login("prod").success();
    expire_in(&env, "prod", 30);
    let before = std::fs::read(env.cache_file("prod")).unwrap();
    env.stand_in.set_behaviour(Behaviour::MaintenancePage);

    // Salesforce is down: the token that is still valid is served, with a warning.
    let cached = env.cache_entry("prod")["access_token"].as_str().unwrap().to_owned();
    let run = env.run(&["token", "-p", "prod", "--format", "token"]).success();
    assert_eq!(run.stdout.trim(), cached);
    assert!(
        run.stderr.contains("answered HTTP 503") && run.stderr.contains("serving the cached token"),
        "{run:?}"
    );
    assert_eq!(std::fs::read(env.cache_file("prod")).unwrap(), before, "cache untouched");
    // A forced refresh that fails, fails.
    env.run(&["token", "-p", "prod", "--refresh"]).failure(5);
    env.run(&["token", "-p", "prod", "--min-valid", "10s"]).success();
}

#[test]
fn an_expired_token_is_not_served_through_an_outage() {
    let env = TestEnv::new();
    env.login("prod").success();
    let mut entry = env.cache_entry("prod");
    entry["expires_at"] = (now_ms() - 1000).into();
    env.set_cache_entry("prod", &entry);
    env.stand_in.set_behaviour(Behaviour::MaintenancePage);
    env.run(&["token", "-p", "prod"]).failure(5);
}

#[test]
fn callers_behind_a_failed_mint_get_its_answer_without_asking_again() {
    let env = TestEnv::new();
    env.login("prod").success();
    env.run(&["invalidate", "-p", "prod"]).success();
    env.stand_in.set_behaviour(Behaviour::RateLimited);
    let before = env.stand_in.token_requests();
    let callers: Vec<Child> = (0..50).map(|_| spawn_token(&env, "prod")).collect();
    for caller in callers {
        let run = Run::of(caller.output_within(TIMEOUT).unwrap()).failure(4);
        assert!(run.stderr.contains("login rate exceeded"), "{run:?}");
    }
    assert_eq!(env.stand_in.token_requests() - before, 1, "one request for 50 callers");
    let run = env.run(&["token", "-p", "prod"]).failure(4);
    assert!(run.stderr.contains("not asked again for") && run.stderr.contains("--refresh"), "{run:?}");
    assert_eq!(env.stand_in.token_requests() - before, 1, "remembered for minutes after a rate limit");
    env.stand_in.set_behaviour(Behaviour::Salesforce);
    env.run(&["token", "-p", "prod", "--refresh"]).success();
    assert_eq!(env.stand_in.token_requests() - before, 2, "--refresh asks again");
}

#[test]
fn cache_none_mints_every_time_and_keyring_cache_writes_no_file() {
    let env = TestEnv::new();
    env.login_with("nocache", &[("--cache", "none")]).success();
    env.run(&["token", "-p", "nocache"]).success();
    env.run(&["token", "-p", "nocache"]).success();
    assert_eq!(env.stand_in.token_requests(), 3);
    assert!(!env.cache_file("nocache").exists());

    env.login_with("kr", &[("--cache", "keychain")]).success();
    let first = token_of(&env.run(&["token", "-p", "kr"]).success());
    assert_eq!(token_of(&env.run(&["token", "-p", "kr"]).success()), first);
    assert_eq!(env.stand_in.token_requests(), 4);
    assert!(!env.cache_file("kr").exists());
    assert!(env.secret_service_lookup("kr/token").is_some(), "the token is in the keychain");
    // Its earlier name, on the command line and in a settings file written before.
    env.login_with("old", &[("--cache", "keyring")]).success();
    env.edit_settings(|text| text.replace("cache = \"keychain\"", "cache = \"keyring\""));
    env.run(&["token", "-p", "old"]).success();
    assert!(env.secret_service_lookup("old/token").is_some());
}

#[test]
fn profiles_show_the_cached_token_state() {
    let env = TestEnv::new();
    env.login("prod").success();
    let json = env.run(&["profiles", "--json"]).success().json();
    let until = humantime::parse_rfc3339(json[0]["token_valid_until"].as_str().unwrap()).unwrap();
    assert!(until > SystemTime::now() + Duration::from_secs(29 * 60));
    env.run(&["invalidate", "-p", "prod"]).success();
    let run = env.run(&["profiles"]).success();
    assert!(run.stdout.lines().nth(1).unwrap().ends_with("none"), "{run:?}");
    assert!(!run.stdout.contains("00DSTANDIN"));
}
