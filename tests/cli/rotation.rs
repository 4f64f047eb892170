//! A key's life under stress: a certificate spreading at random across Salesforce's
//! servers, a crash at every write of every rotation step, a clock that steps, and a
//! logout while a mint is in flight.

use std::collections::BTreeSet;
use std::os::unix::process::ExitStatusExt;
use std::process::{Child, Stdio};

use sfcred_stand_in::Behaviour;

use crate::support::{CONSUMER_KEY, PipeReader, Run, TIMEOUT, TestEnv, WaitWithin, app_keys};

fn spawn_refresh(env: &TestEnv) -> Child {
    env.sfcred()
        .args(["token", "-p", "prod", "--refresh", "--format", "token"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

fn state_path(env: &TestEnv) -> std::path::PathBuf {
    env.path("config/sfcred/rotations/prod.json")
}

fn state(env: &TestEnv) -> serde_json::Value {
    match std::fs::read(state_path(env)) {
        Ok(bytes) => serde_json::from_slice(&bytes).unwrap(),
        Err(_) => serde_json::Value::Null,
    }
}

/// The next key's certificate, as rotate start keeps it.
fn next_certificate(env: &TestEnv) -> String {
    std::fs::read_to_string(env.path("config/sfcred/certificates/prod.next.pem")).unwrap()
}

/// Servers that all hold `certificate`: the app's old one, or the new one.
fn servers_hold(env: &TestEnv, certificate: &str) {
    env.stand_in.upload_certificate(CONSUMER_KEY, certificate).unwrap();
}

fn refresh(env: &TestEnv) -> Run {
    env.run(&["token", "-p", "prod", "--refresh", "--format", "token"])
}

#[test]
fn a_certificate_spreading_at_random_fails_no_call() {
    let env = TestEnv::new();
    env.login("prod").success();
    env.run(&["rotate", "start", "-p", "prod"]).success();
    // Long enough to outlast every call below: each request meets the old or new
    // certificate at random.
    env.stand_in.upload_certificate_spreading(CONSUMER_KEY, &next_certificate(&env), 10_000).unwrap();
    let before = env.stand_in.token_requests();
    let crowd: Vec<Child> = (0..50).map(|_| spawn_refresh(&env)).collect();
    for caller in crowd {
        Run::of(caller.output_within(TIMEOUT).unwrap()).success();
    }
    let mut calls = 1;
    for _ in 0..30 {
        refresh(&env).success();
        calls += 1;
    }
    let attempts = env.stand_in.token_requests() - before;
    assert!(attempts > calls, "the spread refused some attempts ({attempts} for {calls} mints)");
    let state = state(&env);
    assert!(state["next"].is_null() && !state["previous"].is_null(), "promoted: {state}");
}

/// A step of a rotation, set up in a fresh environment, then run once with a failure point.
struct Flow {
    name: &'static str,
    setup: fn(&TestEnv),
    args: &'static [&'static str],
    /// What must work after a crash anywhere in the step, and after what it finishes.
    check: fn(&TestEnv),
}

fn logged_in(env: &TestEnv) {
    env.login("prod").success();
}

fn started(env: &TestEnv) {
    logged_in(env);
    env.run(&["rotate", "start", "-p", "prod"]).success();
}

fn uploaded(env: &TestEnv) {
    started(env);
    servers_hold(env, &next_certificate(env));
}

/// Promoted, and the fallback's grace over by Salesforce's clock (and by ours).
fn grace_over(env: &TestEnv) {
    uploaded(env);
    env.run(&["rotate", "finish", "-p", "prod"]).success();
    let mut state = state(env);
    let long_ago = serde_json::json!(1_000_000_000_000u64);
    state["previous"]["until"] = long_ago.clone();
    state["previous"]["promoted"] = serde_json::json!({"local": long_ago, "salesforce": long_ago});
    std::fs::write(state_path(env), state.to_string()).unwrap();
}

/// Both keys mint where the servers hold their certificate, whatever the crash left.
fn mints_with_old_and_new(env: &TestEnv) {
    let new = next_or_current_certificate(env);
    servers_hold(env, &app_keys().1);
    refresh(env).success();
    servers_hold(env, &new);
    refresh(env).success();
    // Finished: the promotion is complete and the old key is the fallback.
    let state = state(env);
    assert!(state["next"].is_null() && state["previous"]["dropping"].is_null(), "{state}");
    assert!(env.secret_service_lookup("prod/previous-private-key").is_some());
    assert!(env.secret_service_lookup("prod/next-private-key").is_none());
}

fn next_or_current_certificate(env: &TestEnv) -> String {
    let dir = env.path("config/sfcred/certificates");
    std::fs::read_to_string(dir.join("prod.next.pem"))
        .or_else(|_| std::fs::read_to_string(dir.join("prod.pem")))
        .unwrap()
}

/// The old key mints; a new rotation can start.
fn mints_with_old(env: &TestEnv) {
    servers_hold(env, &app_keys().1);
    refresh(env).success();
    // A key being made or dropped is gone; a key made whole is ready.
    let phase = state(env)["next"]["phase"].clone();
    assert!(phase.is_null() || phase == "ready", "{}", state(env));
    if phase == "ready" {
        env.run(&["rotate", "abort", "-p", "prod"]).success();
    }
    assert!(env.secret_service_lookup("prod/next-private-key").is_none());
    env.run(&["rotate", "start", "-p", "prod", "--cert-out", "again.crt"]).success();
}

/// The new key mints, and the old one is gone.
fn mints_with_new_alone(env: &TestEnv) {
    refresh(env).success();
    assert!(state(env).is_null(), "{}", state(env));
    assert!(env.secret_service_lookup("prod/previous-private-key").is_none());
    assert!(!env.path("config/sfcred/certificates/prod.previous.pem").exists());
}

const FLOWS: &[Flow] = &[
    Flow { name: "start", setup: logged_in, args: &["rotate", "start", "-p", "prod"], check: mints_with_old },
    Flow {
        name: "finish",
        setup: uploaded,
        args: &["rotate", "finish", "-p", "prod"],
        check: mints_with_old_and_new,
    },
    Flow {
        name: "promotion by a mint",
        setup: uploaded,
        args: &["token", "-p", "prod", "--refresh"],
        check: mints_with_old_and_new,
    },
    Flow {
        name: "drop the previous key",
        setup: grace_over,
        args: &["token", "-p", "prod", "--refresh"],
        check: mints_with_new_alone,
    },
    Flow { name: "abort", setup: started, args: &["rotate", "abort", "-p", "prod"], check: mints_with_old },
];

/// The failure points a step passes, as it says with SFCRED_FAILPOINT=trace.
fn failure_points(flow: &Flow) -> Vec<String> {
    let env = TestEnv::new();
    (flow.setup)(&env);
    let run = Run::of(
        env.sfcred().args(flow.args).env("SFCRED_FAILPOINT", "trace").output_within(TIMEOUT).unwrap(),
    )
    .success();
    let points: BTreeSet<String> =
        run.stderr.lines().filter_map(|l| l.strip_prefix("sfcred: failpoint ")).map(str::to_owned).collect();
    assert!(!points.is_empty(), "{}: no failure points: {run:?}", flow.name);
    points.into_iter().collect()
}

#[test]
fn a_crash_at_any_write_of_a_rotation_leaves_a_profile_that_mints() {
    let mut crashes = 0;
    for flow in FLOWS {
        for point in failure_points(flow) {
            let env = TestEnv::new();
            (flow.setup)(&env);
            let out =
                env.sfcred().args(flow.args).env("SFCRED_FAILPOINT", &point).output_within(TIMEOUT).unwrap();
            assert_eq!(out.status.signal(), Some(libc::SIGKILL), "{}: {point}: {out:?}", flow.name);
            (flow.check)(&env);
            crashes += 1;
        }
    }
    assert!(crashes >= 20, "every write of every step: {crashes}");
}

#[test]
fn a_clock_step_forward_keeps_the_fallback() {
    let env = TestEnv::new();
    uploaded(&env);
    env.run(&["rotate", "finish", "-p", "prod"]).success();
    // This machine's clock stepped far ahead of the promotion; Salesforce's did not.
    let mut stepped = state(&env);
    stepped["previous"]["until"] = serde_json::json!(1_000_000_000_000u64);
    stepped["previous"]["promoted"]["local"] = serde_json::json!(1_000_000_000_000u64);
    std::fs::write(state_path(&env), stepped.to_string()).unwrap();
    refresh(&env).success();
    assert!(!state(&env)["previous"].is_null(), "the fallback stays: {}", state(&env));
    assert!(env.secret_service_lookup("prod/previous-private-key").is_some());
    // A server that has not learnt the new certificate yet still mints.
    servers_hold(&env, &app_keys().1);
    refresh(&env).success();
}

#[test]
fn logout_waits_for_a_mint_in_flight_then_revokes_its_token() {
    let env = TestEnv::new();
    env.login("prod").success();
    let before = env.stand_in.token_requests();
    env.stand_in.set_behaviour(Behaviour::Gated);
    let mint = spawn_refresh(&env);
    env.stand_in.wait_for_token_requests(before + 1, TIMEOUT);
    let mut logout = env
        .sfcred()
        .args(["-v", "logout", "-p", "prod"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut said = PipeReader::new(logout.stderr.take().unwrap());
    said.read_until("waiting for another sfcred call of profile \"prod\"", TIMEOUT);
    env.stand_in.open_gate();
    let token = Run::of(mint.output_within(TIMEOUT).unwrap()).success().stdout;
    assert!(logout.wait_within(TIMEOUT).unwrap().success());
    assert_eq!(env.stand_in.revocations(), 1, "the token minted in flight is revoked");
    assert_eq!(env.stand_in.rest_status(token.trim()), 401);
    let left: Vec<_> =
        ["run/sfcred", "config/sfcred", "config/sfcred/certificates", "config/sfcred/rotations"]
            .iter()
            .filter_map(|dir| std::fs::read_dir(env.path(dir)).ok())
            .flatten()
            .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|name| name.starts_with("prod"))
            .collect();
    assert!(left.is_empty(), "{left:?}");
    assert!(env.secret_service_lookup("prod/private-key").is_none());
}
