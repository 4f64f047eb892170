//! `sfcred open` (issue 20): the org in a browser through a single-use frontdoor link, the
//! token only in the request's Authorization header.

use crate::support::{Run, TIMEOUT, TestEnv, WaitWithin};

const SETUP: &str = "/lightning/setup/SetupOneHome/home";

fn env_with_instance() -> TestEnv {
    let env = TestEnv::new();
    env.stand_in.serve_as_instance();
    env.login("prod").success();
    env
}

fn cached_token(env: &TestEnv) -> String {
    env.cache_entry("prod")["access_token"].as_str().unwrap().to_owned()
}

/// GETs `url` as a browser would: the HTTP status.
fn visit(env: &TestEnv, url: &str) -> String {
    let out =
        env.command("curl").args(["-s", "-o", "/dev/null", "-w", "%{http_code}", url]).output_within(TIMEOUT);
    String::from_utf8(out.unwrap().stdout).unwrap()
}

/// A browser that writes down its arguments and visits the link.
fn fake_browser(env: &TestEnv) -> String {
    let log = env.path("browser.log");
    let script =
        format!("#!/bin/sh\nprintf '%s\\n' \"$@\" >> '{}'\ncurl -fsS -o /dev/null \"$1\"\n", log.display());
    let path = env.write("fake-browser", &script);
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    path
}

#[test]
fn url_only_prints_a_link_that_works_once_and_holds_no_token() {
    let env = env_with_instance();
    let run = env.run(&["-v", "open", "-p", "prod", "--url-only", "--path", SETUP]).success();
    let url = run.stdout.trim().to_owned();
    assert!(url.starts_with(&format!("{}/secur/frontdoor.jsp?otp=", env.stand_in.url())), "{run:?}");
    let token = cached_token(&env);
    assert!(!run.stdout.contains(&token) && !run.stderr.contains(&token), "the token shows nowhere: {run:?}");
    assert!(!run.stderr.contains("otp="), "-v does not show the link either: {run:?}");
    assert_eq!(visit(&env, &url), "200");
    assert_eq!(visit(&env, &url), "400", "a second visit is refused");
    assert_eq!(env.stand_in.frontdoor_visits(), [(SETUP.to_owned(), true), (SETUP.to_owned(), false)]);
    assert_eq!(env.stand_in.token_requests(), 1, "the cached token asked for it");
}

#[test]
fn the_browser_gets_the_link_from_browser_or_the_flag() {
    let env = env_with_instance();
    let browser = fake_browser(&env);
    let run = env.run(&["open", "-p", "prod", "--browser", &browser]).success();
    assert!(run.stdout.is_empty(), "{run:?}");
    assert!(run.stderr.contains("opened profile \"prod\"'s org in the browser"), "{run:?}");
    // BROWSER, as the platform's opener reads it.
    let out =
        env.sfcred().args(["open", "-p", "prod"]).env("BROWSER", &browser).output_within(TIMEOUT).unwrap();
    Run::of(out).success();
    // The platform's opener starts the browser apart: it visits when it will.
    let visits = env.stand_in.wait_for_frontdoor_visits(2, TIMEOUT);
    assert_eq!(visits, [("/".to_owned(), true), ("/".to_owned(), true)]);
    let log = std::fs::read_to_string(env.path("browser.log")).unwrap();
    assert_eq!(log.lines().count(), 2, "one argument each time, the link: {log}");
    assert!(log.lines().all(|l| l.contains("/secur/frontdoor.jsp?otp=")), "{log}");
    assert!(!log.contains(&cached_token(&env)), "{log}");
}

#[test]
fn a_session_that_ended_gets_one_new_token() {
    let env = env_with_instance();
    env.stand_in.end_sessions();
    let run = env.run(&["open", "-p", "prod", "--url-only"]).success();
    assert_eq!(env.stand_in.token_requests(), 2, "one new token");
    assert_eq!(visit(&env, run.stdout.trim()), "200");
    let broken = env.run(&["open", "-p", "prod", "--browser", "/nonexistent/browser"]).failure(1);
    assert!(broken.stderr.contains("cannot open the browser (/nonexistent/browser)"), "{broken:?}");
    assert!(broken.stderr.contains("--url-only"), "{broken:?}");
}

#[test]
fn a_path_off_the_org_is_refused() {
    let env = TestEnv::without_keychain();
    let run = env.run(&["open", "--path", "https://evil.example/"]).failure(2);
    assert!(run.stderr.contains("invalid --path") && run.stderr.contains("/lightning/setup"), "{run:?}");
}
