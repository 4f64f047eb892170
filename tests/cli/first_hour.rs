//! The first hour with sfcred (issue 19): what a new user reads when something is off.

use crate::support::{Run, TIMEOUT, TestEnv, WaitWithin};

#[test]
fn verbose_says_whether_a_token_was_cached_or_minted_and_why_git_gets_nothing() {
    let env = TestEnv::new();
    let login = env.login("prod").success();
    assert!(login.stderr.contains("next: sfcred token --profile prod prints a token"), "{login:?}");
    let hit = env.run(&["-v", "token", "-p", "prod"]).success();
    assert!(hit.stderr.contains("a cached token of profile \"prod\", valid for 29m"), "{hit:?}");
    assert!(!hit.stderr.contains("minting"), "{hit:?}");
    let mint = env.run(&["-v", "token", "-p", "prod", "--refresh"]).success();
    assert!(mint.stderr.contains("minting for profile \"prod\""), "{mint:?}");

    let git =
        |request: &str| env.run_with_stdin(&["-v", "git-credential", "get"], request.as_bytes()).success();
    let http = git("protocol=http\nhost=standin.my.salesforce.com\n\n");
    assert_eq!(http.stdout, "");
    assert!(http.stderr.contains("tokens go over https only, and git asks for http"), "{http:?}");
    let elsewhere = git("protocol=https\nhost=github.com\n\n");
    assert_eq!(elsewhere.stdout, "");
    assert!(elsewhere.stderr.contains("no profile's login or instance host is github.com"), "{elsewhere:?}");
}

#[test]
fn doctor_says_ok_in_json_as_in_text() {
    let env = TestEnv::new();
    env.login("prod").success();
    let json = env.run(&["doctor", "-p", "prod", "--offline", "--json"]).success();
    let checks: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
    let settings = checks.as_array().unwrap().iter().find(|c| c["name"] == "settings").unwrap();
    assert_eq!(settings["status"], "ok", "{checks}");
    let text = env.run(&["doctor", "-p", "prod", "--offline"]).success();
    assert!(
        text.stdout.lines().any(|l| l.trim_start().starts_with("ok") && l.contains("settings")),
        "{text:?}"
    );
}

#[test]
fn a_mistyped_command_line_has_the_prefix_of_every_other_error() {
    let env = TestEnv::without_keychain();
    for args in [&["tokn"][..], &["token", "--bogus"], &["completions"]] {
        let run = env.run(args);
        assert_eq!(run.code, 2, "{run:?}");
        assert!(run.stderr.starts_with("sfcred: error: "), "{run:?}");
    }
    let help = env.run(&["token", "--help"]);
    assert_eq!(help.code, 0, "{help:?}");
    assert!(help.stdout.contains("Usage: sfcred token"), "{help:?}");
}

#[test]
fn use_makes_a_profile_the_default_until_it_is_logged_out() {
    let env = TestEnv::new();
    env.login("prod").success();
    env.login("uat").success();
    let none = env.run(&["token"]).failure(3);
    assert!(none.stderr.contains("no profile named \"default\""), "{none:?}");
    let chosen = env.run(&["use", "prod"]).success();
    assert!(chosen.stderr.contains("profile \"prod\" is the default now"), "{chosen:?}");
    let token = env.run(&["token"]).success();
    assert_eq!(token.json()["profile"], "prod");
    let listed = env.run(&["profiles"]).success();
    assert!(listed.stdout.lines().any(|l| l.starts_with("* prod")), "{listed:?}");
    assert!(listed.stdout.lines().any(|l| l.starts_with("  uat")), "{listed:?}");
    let json: serde_json::Value =
        serde_json::from_str(&env.run(&["profiles", "--json"]).success().stdout).unwrap();
    assert_eq!(json[0]["default"], true, "{json}");
    let other =
        Run::of(env.sfcred().args(["token"]).env("SFCRED_PROFILE", "uat").output_within(TIMEOUT).unwrap());
    assert_eq!(other.success().json()["profile"], "uat");
    let unknown = env.run(&["use", "nope"]).failure(3);
    assert!(unknown.stderr.contains("known profiles: prod, uat"), "{unknown:?}");
    env.run(&["logout", "-p", "prod"]).success();
    env.run(&["token"]).failure(3);
}

#[test]
fn the_daily_commands_show_examples_in_help_and_man_pages() {
    let env = TestEnv::without_keychain();
    for (command, example) in [
        ("token", "sfcred token --refresh"),
        ("login", "sfcred login --profile uat --sandbox"),
        ("exec", "sfcred exec -- sf data query"),
        ("env", "eval \"$(sfcred env)\""),
        ("doctor", "sfcred doctor --profile uat --offline"),
        ("completions", "sfcred completions bash >"),
        ("use", "sfcred use prod"),
    ] {
        let help = env.run(&[command, "--help"]).success();
        assert!(help.stdout.contains("Examples:") && help.stdout.contains(example), "{command}: {help:?}");
    }
    let exec = env.run(&["exec", "--help"]).success();
    assert!(exec.stdout.contains("Everything after -- is the command"), "{exec:?}");
    let page = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/man/sfcred-token.1")).unwrap();
    assert!(page.contains("sfcred token \\-\\-refresh"), "the man page has the examples too");
}
