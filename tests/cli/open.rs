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
    // BROWSER, which sfcred reads itself on every platform.
    let out =
        env.sfcred().args(["open", "-p", "prod"]).env("BROWSER", &browser).output_within(TIMEOUT).unwrap();
    Run::of(out).success();
    let visits = env.stand_in.frontdoor_visits();
    assert_eq!(visits, [("/".to_owned(), true), ("/".to_owned(), true)]);
    let log = std::fs::read_to_string(env.path("browser.log")).unwrap();
    assert_eq!(log.lines().count(), 2, "one argument each time, the link: {log}");
    assert!(log.lines().all(|l| l.contains("/secur/frontdoor.jsp?otp=")), "{log}");
    assert!(!log.contains(&cached_token(&env)), "{log}");
}

#[test]
fn a_session_that_ended_gets_one_new_token() {
    let env = env_with_instance();
    for status in [401, 403] {
        env.stand_in.answer_ended_sessions_with(status);
        let before = env.stand_in.token_requests();
        env.stand_in.end_sessions();
        let run = env.run(&["-v", "open", "-p", "prod", "--url-only"]).success();
        assert_eq!(env.stand_in.token_requests(), before + 1, "HTTP {status}: one new token");
        assert!(run.stderr.contains(&format!("HTTP {status}, \"INVALID_SESSION_ID")), "{run:?}");
        assert_eq!(visit(&env, run.stdout.trim()), "200");
    }
    let broken = env.run(&["open", "-p", "prod", "--browser", "/nonexistent/browser"]).failure(1);
    assert!(broken.stderr.contains("cannot open the browser (/nonexistent/browser)"), "{broken:?}");
    assert!(broken.stderr.contains("--url-only"), "{broken:?}");
}

#[test]
fn a_path_off_the_org_is_refused() {
    let env = TestEnv::without_keychain();
    let run = env.run(&["open", "--path", "https://evil.example/"]).failure(2);
    assert!(run.stderr.contains("invalid --path") && run.stderr.contains("/lightning/setup"), "{run:?}");
    let run = env.run(&["open", "--path", "/\\evil.example/"]).failure(2);
    assert!(run.stderr.contains("it holds a backslash"), "{run:?}");
}

/// JWT-based tokens, which Salesforce serves to REST APIs only: a UI Bridge API that refuses
/// them costs one new token, not a loop, and the error says why.
#[test]
fn a_refusal_after_the_new_token_is_rejected_once_with_salesforce_s_words() {
    let env = TestEnv::new();
    env.stand_in.serve_as_instance();
    env.stand_in.issue_jwt_tokens(std::time::Duration::from_secs(3600));
    env.stand_in.refuse_jwt_tokens_at_the_ui_bridge();
    env.login("prod").success();
    let before = env.stand_in.token_requests();
    let run = env.run(&["open", "-p", "prod", "--url-only"]).failure(4);
    assert_eq!(env.stand_in.token_requests(), before + 1, "one new token, then the refusal");
    assert!(run.stderr.contains("\"INVALID_SESSION_ID: Session expired or invalid\""), "{run:?}");
    assert!(run.stderr.contains("REST APIs only"), "{run:?}");
    assert!(run.stdout.is_empty() && !run.stderr.contains(&cached_token(&env)), "{run:?}");
    // A token minted for this very call has not timed out: no second one is asked for.
    env.run(&["invalidate", "-p", "prod"]).success();
    let before = env.stand_in.token_requests();
    env.run(&["open", "-p", "prod", "--url-only"]).failure(4);
    assert_eq!(env.stand_in.token_requests(), before + 1, "the one mint the empty cache needed");
}

/// `%s` takes the link's place, and a browser path with a space is one word, quoted or named whole.
#[test]
fn the_browser_command_takes_the_link_where_it_says() {
    let env = env_with_instance();
    let browser = fake_browser(&env);
    let spaced = env.path("My Browser");
    std::fs::create_dir(&spaced).unwrap();
    let spaced = spaced.join("run");
    std::fs::copy(&browser, &spaced).unwrap();
    let quoted = format!("'{}' %s --after", spaced.display());
    env.run(&["open", "-p", "prod", "--browser", &quoted]).success();
    let out = env
        .sfcred()
        .args(["open", "-p", "prod"])
        .env("BROWSER", spaced.to_str().unwrap())
        .output_within(TIMEOUT)
        .unwrap();
    Run::of(out).success();
    // BROWSER as a list, the first command whose program exists taken.
    let list = format!("/nonexistent/browser:{}", browser);
    let out = env.sfcred().args(["open", "-p", "prod"]).env("BROWSER", &list).output_within(TIMEOUT).unwrap();
    Run::of(out).success();
    let log = std::fs::read_to_string(env.path("browser.log")).unwrap();
    let lines: Vec<&str> = log.lines().collect();
    assert_eq!(lines.len(), 4, "the link and --after, then the link alone twice: {log}");
    assert!(lines[0].contains("/secur/frontdoor.jsp?otp=") && lines[1] == "--after", "{log}");
    assert!(lines[2..].iter().all(|l| l.contains("/secur/frontdoor.jsp?otp=")), "{log}");
    assert_eq!(env.stand_in.frontdoor_visits().len(), 3, "each opened its link");
    let run = env.run(&["open", "-p", "prod", "--browser", "%s --flag"]).failure(1);
    assert!(run.stderr.contains("the link would be the program"), "{run:?}");
    assert!(!run.stderr.contains("otp="), "{run:?}");
}
